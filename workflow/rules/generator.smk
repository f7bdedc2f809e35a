"""Generators: normalisation statistics and the Cond P-Diff generator
(parameter autoencoder, conditional latent diffusion, candidate sampling). Rule <name> runs
condpdiff.<package>.<name>."""


rule compute_norm_stats:
    input:
        harvests=all_harvests,
    output:
        stats=P.norm_stats(),
    log:
        P.log("compute_norm_stats", TAG_GEN),
    benchmark:
        P.benchmark("compute_norm_stats", TAG_GEN)
    conda:
        "../../environment.yml"
    resources:
        runtime=30,
        mem_mb=8000,
    params:
        tasks=lambda w: settings.words(members(w)),
        unseen=lambda w: f"--unseen {shlex.quote(unseen(w))}" if unseen(w) else "",
        code=code("params.compute_norm_stats"),
    shell:
        "python -m condpdiff.params.compute_norm_stats --harvests {input.harvests:q}"
        " --tasks {params.tasks} --mode {wildcards.norm} --n {wildcards.n}"
        " --layers {wildcards.layers} {params.unseen} --out {output.stats:q} > {log:q} 2>&1"


rule train_autoencoder:
    input:
        stats=P.norm_stats(),
        harvests=all_harvests,
    output:
        model=P.autoencoder("model.safetensors"),
        config=P.autoencoder("config.json"),
        curve=P.autoencoder("curve.csv"),
        report=P.autoencoder("report.json"),
        recon=expand(P.reconstructions(), task=TASKS, allow_missing=True),
    log:
        P.log("train_autoencoder", TAG_GEN),
    benchmark:
        P.benchmark("train_autoencoder", TAG_GEN)
    wildcard_constraints:
        backbone=names.alternatives(list(config.get("backbones") or [])),
        unseen="(?:)",  # the generator of every task (train_unseen_autoencoder: one left out)
    conda:
        "../../environment.yml"
    threads: 2
    resources:
        gpu=GPU,
        runtime=RUNTIME["train_autoencoder_runtime"],
        mem_mb=16000,
    params:
        out_dir=lambda w, output: os.path.dirname(output.model),
        recon=lambda w, output: (
            f"--recon-dir {shlex.quote(os.path.dirname(output.recon[0]))}"
            if "recon" in output.keys()
            else ""
        ),
        tasks=lambda w: settings.words(members(w)),
        settings=seeded(settings.flags(config["autoencoder"]), "gen"),
        code=code("generator.pdiff.train_autoencoder"),
    shell:
        "python -m condpdiff.generator.pdiff.train_autoencoder --stats {input.stats:q}"
        " --harvests {input.harvests:q} --tasks {params.tasks} {params.settings}"
        " --out-dir {params.out_dir:q} --report {output.report:q} {params.recon} > {log:q} 2>&1"


use rule train_autoencoder as train_unseen_autoencoder with:
    output:
        model=P.autoencoder("model.safetensors"),
        config=P.autoencoder("config.json"),
        curve=P.autoencoder("curve.csv"),
        report=P.autoencoder("report.json"),
    log:
        P.log("train_unseen_autoencoder", TAG_GEN),
    benchmark:
        P.benchmark("train_unseen_autoencoder", TAG_GEN)
    wildcard_constraints:
        backbone=names.KEY_RE,
        unseen="-without-[A-Za-z0-9_]+",


rule train_diffusion:
    input:
        autoencoder=P.autoencoder("model.safetensors"),
        autoencoder_config=P.autoencoder("config.json"),
        stats=P.norm_stats(),
        harvests=all_harvests,
        conditions=lambda w: [
            P.condition(condition=w.condition, task=t) for t in members(w)
        ],
    output:
        model=P.diffusion("model.safetensors"),
        config=P.diffusion("config.json"),
        curve=P.diffusion("curve.csv"),
    log:
        P.log("train_diffusion", TAG_DIFF),
    benchmark:
        P.benchmark("train_diffusion", TAG_DIFF)
    conda:
        "../../environment.yml"
    threads: 2
    resources:
        gpu=GPU,
        runtime=RUNTIME["train_diffusion_runtime"],
        mem_mb=16000,
    params:
        autoencoder=lambda w, input: os.path.dirname(input.autoencoder),
        out_dir=lambda w, output: os.path.dirname(output.model),
        tasks=lambda w: settings.words(members(w)),
        settings=seeded(settings.flags(config["diffusion"]), "gen"),
        code=code("generator.pdiff.train_diffusion"),
    shell:
        "python -m condpdiff.generator.pdiff.train_diffusion --autoencoder {params.autoencoder:q}"
        " --stats {input.stats:q} --harvests {input.harvests:q} --tasks {params.tasks}"
        " --conditions {input.conditions:q} {params.settings} --out-dir {params.out_dir:q}"
        " > {log:q} 2>&1"


rule sample_candidates:
    input:
        diffusion=P.diffusion("model.safetensors"),
        diffusion_config=P.diffusion("config.json"),
        autoencoder=P.autoencoder("model.safetensors"),
        autoencoder_config=P.autoencoder("config.json"),
        stats=P.norm_stats(),
        harvest=task_harvest,
        condition=P.condition(),
    output:
        candidates=P.candidates(kind="pdiff"),
    log:
        P.log("sample_candidates", fill(TAG_DRAW, kind="pdiff")),
    benchmark:
        P.benchmark("sample_candidates", fill(TAG_DRAW, kind="pdiff"))
    wildcard_constraints:
        control="(?:)",  # its own candidates (audit.smk: the arms -null, -shuffled)
    conda:
        "../../environment.yml"
    threads: 2
    resources:
        gpu=GPU,
        runtime=RUNTIME["sample_candidates_runtime"],
        mem_mb=8000,
    params:
        diffusion=lambda w, input: os.path.dirname(input.diffusion),
        autoencoder=lambda w, input: os.path.dirname(input.autoencoder),
        settings=seeded(settings.flags(config["sampling"]), "gen"),
        control=lambda w: control_flags(w),  # audit_common.smk
        code=code("generator.pdiff.sample_candidates"),
    shell:
        "python -m condpdiff.generator.pdiff.sample_candidates --diffusion {params.diffusion:q}"
        " --autoencoder {params.autoencoder:q} --stats {input.stats:q} --harvest {input.harvest:q}"
        " --condition {input.condition:q} --task {wildcards.task} --sampler {wildcards.sampler}"
        " {params.settings} {params.control} --out {output.candidates:q} > {log:q} 2>&1"
