"""Self-contained generator folders (condpdiff.generate.export): a trained generator of either kind,
its stats (with the pooled row for new conditions), LoRA layout, base model and condition encoder in
one folder that ``condpdiff generate`` reads without the results tree. Rule <name> runs
condpdiff.generate.export.

Rule generate_adapter runs ``condpdiff generate`` (condpdiff.generate.command) on the default
generator's folder for an entry of config `generate_for` (a new text task or style, never
fine-tuned); target generated_adapters makes every entry's adapter (pipeline.generate_for).
"""

from condpdiff.pipeline import export_args, generate_for
from condpdiff.pipeline.paths import TAG_EXPORT, TAG_GENERATED


rule export_generator:
    input:
        autoencoder=P.autoencoder("model.safetensors"),
        autoencoder_config=P.autoencoder("config.json"),
        diffusion=P.diffusion("model.safetensors"),
        diffusion_config=P.diffusion("config.json"),
        stats=P.norm_stats(),
        harvests=all_harvests,
        conditions=lambda w: [
            P.condition(condition=w.condition, task=t) for t in members(w)
        ],
    output:
        folder=directory(P.generator_export(kind="pdiff")),
    log:
        P.log("export_generator", fill(TAG_EXPORT, kind="pdiff", control="")),
    benchmark:
        P.benchmark("export_generator", fill(TAG_EXPORT, kind="pdiff", control=""))
    conda:
        "../../environment.yml"
    resources:
        runtime=30,
        mem_mb=8000,
    params:
        networks=lambda w, input: [
            os.path.dirname(input.autoencoder),
            os.path.dirname(input.diffusion),
        ],
        tasks=lambda w: settings.words(members(w)),
        encoder=lambda w: export_args.encoder_words(config, w.backbone),
        tables=export_args.table_words(config),
        copy_base=lambda w: export_args.copy_base(config, w.backbone),
        code=code("generate.export"),
    shell:
        "python -m condpdiff.generate.export --kind pdiff --networks {params.networks:q}"
        " --draw {wildcards.sampler} --stats {input.stats:q} --harvests {input.harvests:q}"
        " --tasks {params.tasks} --conditions {input.conditions:q} --encoder {params.encoder}"
        " --tables {params.tables} --backbone {wildcards.backbone}"
        " --copy-base {params.copy_base} --out {output.folder:q} > {log:q} 2>&1"


rule export_direct_generator:
    input:
        model=P.direct("model.safetensors"),
        model_config=P.direct("config.json"),
        stats=P.norm_stats(),
        harvests=all_harvests,
        conditions=lambda w: [
            P.condition(condition=w.condition, task=t) for t in members(w)
        ],
    output:
        folder=directory(P.generator_export(kind="direct")),
    log:
        P.log("export_direct_generator", fill(TAG_EXPORT, kind="direct", control="")),
    benchmark:
        P.benchmark(
            "export_direct_generator", fill(TAG_EXPORT, kind="direct", control="")
        )
    conda:
        "../../environment.yml"
    resources:
        runtime=30,
        mem_mb=8000,
    params:
        networks=lambda w, input: os.path.dirname(input.model),
        tasks=lambda w: settings.words(members(w)),
        encoder=lambda w: export_args.encoder_words(config, w.backbone),
        tables=export_args.table_words(config),
        copy_base=lambda w: export_args.copy_base(config, w.backbone),
        code=code("generate.export"),
    shell:
        "python -m condpdiff.generate.export --kind direct --networks {params.networks:q}"
        " --draw {wildcards.recipe} --stats {input.stats:q} --harvests {input.harvests:q}"
        " --tasks {params.tasks} --conditions {input.conditions:q} --encoder {params.encoder}"
        " --tables {params.tables} --backbone {wildcards.backbone}"
        " --copy-base {params.copy_base} --out {output.folder:q} > {log:q} 2>&1"


rule generate_adapter:
    input:
        generator=P.generator_export(),
        condition=lambda w: export_args.generate_inputs(config, w.backbone, w.entry),
    output:
        folder=directory(P.generated_adapter()),
    log:
        P.log("generate_adapter", TAG_GENERATED),
    benchmark:
        P.benchmark("generate_adapter", TAG_GENERATED)
    conda:
        "../../environment.yml"
    resources:
        gpu=int(config["generate_for"]["device"].startswith("cuda")),
        runtime=RUNTIME["generate_runtime"],
        mem_mb=8000,
    params:
        args=lambda w: export_args.generate_words(config, w.backbone, w.entry),
        code=code("generate.command"),
    shell:
        "python -m condpdiff generate {input.generator:q} {params.args}"
        " --out {output.folder:q} > {log:q} 2>&1"


rule generated_adapters:
    input:
        generate_for.adapter_folders(config),
