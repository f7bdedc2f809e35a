"""The direct generator (kind direct): a task's condition items, pooled k at a time, mapped to its LoRA
weights in one forward pass. {recipe} (path part recipe-{recipe}) is its training recipe: k, arrangement,
loss weight exponent. Rule <name> runs condpdiff.generator.direct.<name>; its candidates are scored like
every generator's.
"""


rule train_direct:
    input:
        stats=P.norm_stats(),
        harvests=all_harvests,
        conditions=lambda w: [
            P.condition(condition=w.condition, task=t) for t in members(w)
        ],
    output:
        model=P.direct("model.safetensors"),
        config=P.direct("config.json"),
        curve=P.direct("curve.csv"),
    log:
        P.log("train_direct", TAG_DIRECT),
    benchmark:
        P.benchmark("train_direct", TAG_DIRECT)
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        gpu=GPU,
        runtime=RUNTIME["train_direct_runtime"],
        mem_mb=8000,
    params:
        out_dir=lambda w, output: os.path.dirname(output.model),
        tasks=lambda w: settings.words(members(w)),
        settings=seeded(settings.flags(config["direct"]), "gen"),
        code=code("generator.direct.train_direct"),
    shell:
        "python -m condpdiff.generator.direct.train_direct --stats {input.stats:q}"
        " --harvests {input.harvests:q} --tasks {params.tasks} --conditions {input.conditions:q}"
        " --recipe {wildcards.recipe} {params.settings} --out-dir {params.out_dir:q} > {log:q} 2>&1"


rule sample_direct:
    input:
        model=P.direct("model.safetensors"),
        model_config=P.direct("config.json"),
        stats=P.norm_stats(),
        harvest=task_harvest,
        condition=P.condition(),
    output:
        candidates=P.candidates(kind="direct"),
    log:
        P.log("sample_direct", fill(TAG_DRAW, kind="direct")),
    benchmark:
        P.benchmark("sample_direct", fill(TAG_DRAW, kind="direct"))
    wildcard_constraints:
        control="(?:)",  # its own candidates (audit.smk: the arms -null, -shuffled)
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        gpu=GPU,
        runtime=RUNTIME["sample_candidates_runtime"],
        mem_mb=8000,
    params:
        model=lambda w, input: os.path.dirname(input.model),
        settings=seeded(direct_sampling_flags(), "gen"),
        control=lambda w: control_flags(w),  # audit_common.smk
        code=code("generator.direct.sample_direct"),
    shell:
        "python -m condpdiff.generator.direct.sample_direct --model {params.model:q}"
        " --stats {input.stats:q} --harvest {input.harvest:q} --condition {input.condition:q}"
        " --task {wildcards.task} --recipe {wildcards.recipe} {params.settings} {params.control}"
        " --out {output.candidates:q} > {log:q} 2>&1"
