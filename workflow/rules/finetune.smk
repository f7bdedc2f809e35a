"""LoRA fine-tuning with harvesting of the last N steps, and normalisation statistics."""


rule finetune_lora:
    input:
        task=f"{R}/tasks/{{task}}.json",
        data=task_data_files,
        backbone=backbone_input,
    output:
        harvest=f"{R}/finetune/{{backbone}}/r{{rank}}/{{task}}/harvest.safetensors",
        summary=f"{R}/finetune/{{backbone}}/r{{rank}}/{{task}}/summary.json",
    log:
        f"{R}/logs/finetune_lora/{{backbone}}_r{{rank}}_{{task}}.log",
    benchmark:
        f"{R}/benchmarks/finetune_lora/{{backbone}}_r{{rank}}_{{task}}.tsv"
    conda:
        "../../environment.yml"
    threads: 2
    resources:
        gpu=GPU,
        runtime=config.get("resources", {}).get("finetune_runtime", 240),
        mem_mb=16000,
    params:
        model=backbone_model,
        source="hub" if config["data"]["source"] == "hub" else "local",
        glue_dir=glue_dir(),
        alpha=lambda w: lora_alpha(config, int(w.rank)),
        target_modules=target_modules,
        settings=flags("finetune"),
        code=code("finetune"),
    shell:
        "python -m condpdiff.finetune --model {params.model} --backbone {wildcards.backbone}"
        " --task-file {input.task} --data-source {params.source} --glue-dir {params.glue_dir:q}"
        " --rank {wildcards.rank} --alpha {params.alpha} --target-modules {params.target_modules}"
        " {params.settings} --out {output.harvest} --summary {output.summary} > {log} 2>&1"


rule norm_stats:
    input:
        harvests=all_harvests,
    output:
        stats=f"{GEN_DIR}/stats.safetensors",
    log:
        f"{R}/logs/norm_stats/{{backbone}}_r{{rank}}_n{{n}}_layers-{{layers}}_norm-{{norm}}.log",
    benchmark:
        f"{R}/benchmarks/norm_stats/{{backbone}}_r{{rank}}_n{{n}}_layers-{{layers}}_norm-{{norm}}.tsv"
    conda:
        "../../environment.yml"
    resources:
        runtime=30,
        mem_mb=8000,
    params:
        tasks=" ".join(TASKS),
        code=code("norm_stats"),
    shell:
        "python -m condpdiff.norm_stats --harvests {input.harvests} --tasks {params.tasks}"
        " --mode {wildcards.norm} --n {wildcards.n} --layers {wildcards.layers} --out {output.stats} > {log} 2>&1"
