"""Condition encoding, parameter autoencoder, conditional latent diffusion and candidate sampling."""


include: "generator_common.smk"


rule encode_condition:
    input:
        task=at(R, "tasks/{task}.json"),
    output:
        condition=at(R, "conditions/{condition}/{task}.safetensors"),
    log:
        at(R, "logs/encode_condition/{condition}_{task}.log"),
    benchmark:
        at(R, "benchmarks/encode_condition/{condition}_{task}.tsv")
    conda:
        "../../environment.yml"
    resources:
        runtime=runtime("encode_condition", 15),
        mem_mb=4000,
    params:
        tasks=" ".join(TASKS),
        settings=flags("conditions"),
        code=code("encode_condition"),
    shell:
        "python -m condpdiff.encode_condition --task-file {input.task} --condition {wildcards.condition}"
        " --tasks {params.tasks} {params.settings} --out {output.condition} > {log} 2>&1"


rule train_autoencoder:
    input:
        stats=at(GEN_DIR, "stats.safetensors"),
        harvests=all_harvests,
    output:
        model=at(AE_DIR, "model.safetensors"),
        config=at(AE_DIR, "config.json"),
        curve=at(AE_DIR, "curve.csv"),
        report=at(AE_DIR, "report.json"),
        recon=expand(
            at(AE_DIR, "recon/{task}.safetensors"), task=TASKS, allow_missing=True
        ),
    log:
        at(R, "logs/train_autoencoder", tagged(".log")),
    benchmark:
        at(R, "benchmarks/train_autoencoder", tagged(".tsv"))
    conda:
        "../../environment.yml"
    threads: 2
    resources:
        gpu=GPU,
        runtime=runtime("train_autoencoder", 120),
        mem_mb=16000,
    params:
        out_dir=folder_of("model"),
        recon_dir=lambda w, output: str(Path(output.recon[0]).parent),
        tasks=" ".join(TASKS),
        settings=flags("autoencoder"),
        code=code("train_autoencoder"),
    shell:
        "python -m condpdiff.train_autoencoder --stats {input.stats} --harvests {input.harvests}"
        " --tasks {params.tasks} {params.settings} --out-dir {params.out_dir} --report {output.report}"
        " --recon-dir {params.recon_dir} > {log} 2>&1"


rule train_diffusion:
    input:
        autoencoder=at(AE_DIR, "model.safetensors"),
        autoencoder_config=at(AE_DIR, "config.json"),
        stats=at(GEN_DIR, "stats.safetensors"),
        harvests=all_harvests,
        conditions=all_conditions,
    output:
        model=at(DIFF_DIR, "model.safetensors"),
        config=at(DIFF_DIR, "config.json"),
        curve=at(DIFF_DIR, "curve.csv"),
    log:
        at(R, "logs/train_diffusion", tagged("_cond-{condition}.log")),
    benchmark:
        at(R, "benchmarks/train_diffusion", tagged("_cond-{condition}.tsv"))
    conda:
        "../../environment.yml"
    threads: 2
    resources:
        gpu=GPU,
        runtime=runtime("train_diffusion", 240),
        mem_mb=16000,
    params:
        autoencoder=lambda w, input: str(Path(input.autoencoder).parent),
        out_dir=folder_of("model"),
        tasks=" ".join(TASKS),
        settings=flags("diffusion"),
        code=code("train_diffusion"),
    shell:
        "python -m condpdiff.train_diffusion --autoencoder {params.autoencoder} --stats {input.stats}"
        " --harvests {input.harvests} --tasks {params.tasks} --conditions {input.conditions}"
        " {params.settings} --out-dir {params.out_dir} > {log} 2>&1"


rule sample_candidates:
    input:
        diffusion=at(DIFF_DIR, "model.safetensors"),
        diffusion_config=at(DIFF_DIR, "config.json"),
        autoencoder=at(AE_DIR, "model.safetensors"),
        autoencoder_config=at(AE_DIR, "config.json"),
        stats=at(GEN_DIR, "stats.safetensors"),
        harvest=task_harvest,
        condition=at(R, "conditions/{condition}/{task}.safetensors"),
    output:
        candidates=at(
            GEN_DIR, "cond-{condition}/{sampler}/candidates/{task}.safetensors"
        ),
    log:
        at(
            R,
            "logs/sample_candidates",
            tagged("_cond-{condition}_{sampler}_{task}.log"),
        ),
    benchmark:
        at(
            R,
            "benchmarks/sample_candidates",
            tagged("_cond-{condition}_{sampler}_{task}.tsv"),
        )
    conda:
        "../../environment.yml"
    threads: 2
    resources:
        gpu=GPU,
        runtime=runtime("sample_candidates", 30),
        mem_mb=8000,
    params:
        diffusion=lambda w, input: str(Path(input.diffusion).parent),
        autoencoder=lambda w, input: str(Path(input.autoencoder).parent),
        settings=flags("sampling"),
        code=code("sample_candidates"),
    shell:
        "python -m condpdiff.sample_candidates --diffusion {params.diffusion} --autoencoder {params.autoencoder}"
        " --stats {input.stats} --harvest {input.harvest} --condition {input.condition} --task {wildcards.task}"
        " --sampler {wildcards.sampler} {params.settings} --out {output.candidates} > {log} 2>&1"
