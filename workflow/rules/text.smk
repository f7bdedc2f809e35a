"""The text domain: task files, synthetic smoke data and tiny backbones, LoRA fine-tuning with
harvesting, task condition vectors, scoring of parameter files on GLUE splits, and adapter export.

Every rule here calls condpdiff.text.<module>; the seven score_* rules share one entry point
(condpdiff.text.score), one input set (score_inputs) and one argument builder (score_args),
both in common.smk.
"""


rule write_task:
    output:
        task=P.task(),
    log:
        P.log("write_task", "{task}"),
    benchmark:
        P.benchmark("write_task", "{task}")
    conda:
        "../../environment.yml"
    resources:
        runtime=5,
        mem_mb=1000,
    params:
        custom=lambda w: shlex.quote(json.dumps(config["custom_tasks"])),
        code=code("text.write_task"),
    shell:
        "python -m condpdiff.text.write_task --task {wildcards.task} --custom-tasks {params.custom}"
        " --out {output.task:q} > {log:q} 2>&1"


rule make_synthetic_task:
    output:
        train=P.synthetic_split("train"),
        dev=P.synthetic_split("dev"),
    log:
        P.log("make_synthetic_task", "{synthetic}"),
    benchmark:
        P.benchmark("make_synthetic_task", "{synthetic}")
    conda:
        "../../environment.yml"
    resources:
        runtime=5,
        mem_mb=1000,
    params:
        settings=settings.flags(config["data"]["synthetic"]),
        out_dir=lambda w, output: os.path.dirname(os.path.dirname(output.train)),
        code=code("text.make_synthetic_task"),
    shell:
        "python -m condpdiff.text.make_synthetic_task --kind {wildcards.synthetic}"
        " --out-dir {params.out_dir:q} {params.settings} > {log:q} 2>&1"


rule build_tiny_backbone:
    output:
        model=directory(P.tiny_backbone()),
    log:
        P.log("build_tiny_backbone", "{backbone}"),
    benchmark:
        P.benchmark("build_tiny_backbone", "{backbone}")
    conda:
        "../../environment.yml"
    resources:
        runtime=5,
        mem_mb=2000,
    params:
        settings=lambda w: settings.flags(
            config["backbones"][w.backbone]["tiny_random"]
        ),
        code=code("text.build_tiny_backbone"),
    shell:
        "python -m condpdiff.text.build_tiny_backbone --out {output.model:q} {params.settings}"
        " > {log:q} 2>&1"


rule finetune_lora:
    input:
        task=P.task(),
        data=task_data_files,
        backbone=backbone_input,
    output:
        harvest=P.harvest(),
        summary=P.finetune_summary(),
    log:
        P.log("finetune_lora", TAG_TASK),
    benchmark:
        P.benchmark("finetune_lora", TAG_TASK)
    wildcard_constraints:
        backbone=names.alternatives(list(config["backbones"])),
    conda:
        "../../environment.yml"
    threads: 2
    resources:
        gpu=GPU,
        runtime=RUNTIME["finetune_runtime"],
        mem_mb=16000,
    params:
        args=text_args,
        settings=seeded(settings.flags(config["finetune"]), "ft"),
        code=code("text.finetune_lora"),
    shell:
        "python -m condpdiff.text.finetune_lora {params.args} --backbone {wildcards.backbone}"
        " {params.settings} --out {output.harvest:q} --summary {output.summary:q} > {log:q} 2>&1"


rule encode_condition:
    input:
        task=P.task(),
    output:
        condition=P.condition(),
    log:
        P.log("encode_condition", "{condition}_{task}"),
    benchmark:
        P.benchmark("encode_condition", "{condition}_{task}")
    wildcard_constraints:
        condition=names.alternatives(names.CONDITIONS),
    conda:
        "../../environment.yml"
    resources:
        runtime=RUNTIME["encode_condition_runtime"],
        mem_mb=4000,
    params:
        tasks=settings.words(TASKS),
        settings=settings.flags(config["conditions"]),
        code=code("text.encode_condition"),
    shell:
        "python -m condpdiff.text.encode_condition --task-file {input.task:q}"
        " --condition {wildcards.condition} --tasks {params.tasks} {params.settings}"
        " --out {output.condition:q} > {log:q} 2>&1"


rule encode_data_condition:
    """A data condition: the frozen sentence encoder over labelled TRAINING examples (generator kind direct)."""
    input:
        task=P.task(),
        data=task_data_files,
    output:
        condition=P.condition(),
    log:
        P.log("encode_data_condition", "{condition}_{task}"),
    benchmark:
        P.benchmark("encode_data_condition", "{condition}_{task}")
    wildcard_constraints:
        condition=names.alternatives(names.DATA_CONDITIONS),
    conda:
        "../../environment.yml"
    resources:
        runtime=RUNTIME["encode_condition_runtime"],
        mem_mb=4000,
    params:
        data=lambda w: (
            f"--data-source {'hub' if config['data']['source'] == 'hub' else 'local'}"
            f" --glue-dir {shlex.quote(settings.glue_dir(config))}"
        ),
        settings=settings.flags(
            {
                **config["data_condition"],
                "sentence_model": config["conditions"]["sentence_model"],
                "device": config["conditions"]["device"],
            }
        ),
        code=code("text.encode_data_condition"),
    shell:
        "python -m condpdiff.text.encode_data_condition --task-file {input.task:q} {params.data}"
        " --condition {wildcards.condition} {params.settings} --out {output.condition:q}"
        " > {log:q} 2>&1"


rule score_harvest:
    input:
        **score_inputs(task_harvest),
    output:
        scores=P.harvest_scores(),
    log:
        P.log("score_harvest", TAG_TASK),
    benchmark:
        P.benchmark("score_harvest", TAG_TASK)
    conda:
        "../../environment.yml"
    threads: 2
    resources:
        **SCORE_RESOURCES,
    params:
        args=score_args(
            ["dev"], head="file", extra=f"--every {config['scoring']['harvest_every']}"
        ),
        code=code("text.score"),
    shell:
        SCORE


rule score_soup:
    input:
        **score_inputs(task_harvest),
    output:
        scores=P.baseline("soup_scores"),
    log:
        P.log("score_soup", TAG_N),
    benchmark:
        P.benchmark("score_soup", TAG_N)
    conda:
        "../../environment.yml"
    threads: 2
    resources:
        **SCORE_RESOURCES,
    params:
        args=score_args(["dev"], head="file", extra="--soup {n}"),
        code=code("text.score"),
    shell:
        SCORE


rule score_nolora:
    """No LoRA: the base model with the task's head (its last checkpoint's), every LoRA weight zero."""
    input:
        **score_inputs(task_harvest),
    output:
        scores=P.nolora("nolora_scores"),
    log:
        P.log("score_nolora", TAG_TASK),
    benchmark:
        P.benchmark("score_nolora", TAG_TASK)
    conda:
        "../../environment.yml"
    threads: 2
    resources:
        **SCORE_RESOURCES,
    params:
        args=score_args(["dev"], head="file", extra="--zero-lora"),
        code=code("text.score"),
    shell:
        SCORE


rule score_candidates:
    input:
        **score_inputs(P.candidates()),
    output:
        scores=P.candidate_scores(),
    log:
        P.log("score_candidates", TAG_DRAW),
    benchmark:
        P.benchmark("score_candidates", TAG_DRAW)
    conda:
        "../../environment.yml"
    threads: 2
    resources:
        **SCORE_RESOURCES,
    params:
        args=score_args(["dev"]),
        code=code("text.score"),
    shell:
        SCORE


rule score_selection:
    """The candidates on the selection split: sel_n training examples drawn with sel_seed;
    sel_pool "-heldout": drawn only from the training examples fine-tuning left out; sel_race
    "-race{m}": selection by successive halving from the first m examples (text.race).
    """
    input:
        **score_inputs(P.candidates(), finetune_summary=P.finetune_summary()),
    output:
        scores=P.selection_scores(),
    log:
        P.log("score_selection", TAG_SEL),
    benchmark:
        P.benchmark("score_selection", TAG_SEL)
    conda:
        "../../environment.yml"
    threads: 2
    resources:
        **SCORE_RESOURCES,
    params:
        args=score_args(
            ["selection"],
            extra="--selection-examples {sel_n} --selection-seed {sel_seed}"
            " --selection-from {pool} --race {race} --finetune-summary {input.finetune_summary}",
        ),
        code=code("text.score"),
    shell:
        SCORE


rule score_selected:
    """The candidate best on the selection split, on dev (one row: the generated cell's score)."""
    input:
        **score_inputs(P.candidates(), selection=P.selection_scores()),
    output:
        scores=P.selected_scores(),
    log:
        P.log("score_selected", TAG_SEL),
    benchmark:
        P.benchmark("score_selected", TAG_SEL)
    conda:
        "../../environment.yml"
    threads: 2
    resources:
        **SCORE_RESOURCES,
    params:
        args=score_args(["dev"], extra="--best-of {input.selection}"),
        code=code("text.score"),
    shell:
        SCORE


rule score_cross_task:
    """The candidate selected for task {source}, scored on {task} with {task}'s head."""
    input:
        **score_inputs(P.candidates(task="{source}"), cell=P.generated(task="{source}")),
    output:
        scores=P.cross("cross_scores"),
    log:
        P.log("score_cross_task", TAG_CROSS),
    benchmark:
        P.benchmark("score_cross_task", TAG_CROSS)
    conda:
        "../../environment.yml"
    threads: 2
    resources:
        **SCORE_RESOURCES,
    params:
        args=score_args(["dev"], extra="--row-from {input.cell}"),
        code=code("text.score"),
    shell:
        SCORE


rule score_recon:
    input:
        **score_inputs(P.reconstructions()),
    output:
        scores=P.recon_scores(),
    log:
        P.log("score_recon", TAG_RECON),
    benchmark:
        P.benchmark("score_recon", TAG_RECON)
    conda:
        "../../environment.yml"
    threads: 2
    resources:
        **SCORE_RESOURCES,
    params:
        args=score_args(["dev"], extra=f"--every {config['scoring']['harvest_every']}"),
        code=code("text.score"),
    shell:
        SCORE


rule export_adapter:
    """The selected candidate as a standard PEFT adapter folder (+ the merged model if asked)."""
    input:
        cell=P.generated(),
        params=P.candidates(),
        harvest=task_harvest,
        task=P.task(),
        backbone=backbone_input,
    output:
        adapter=directory(P.adapter()),
    log:
        P.log("export_adapter", TAG_SEL),
    benchmark:
        P.benchmark("export_adapter", TAG_SEL)
    conda:
        "../../environment.yml"
    resources:
        runtime=15,
        mem_mb=8000,
    params:
        args=text_args,
        head=config["scoring"]["head"],
        merge_full_model=config["scoring"]["merge_full_model"],
        code=code("text.export_adapter"),
    shell:
        "python -m condpdiff.text.export_adapter {params.args} --params {input.params:q}"
        " --cell {input.cell:q} --head {params.head} --harvest {input.harvest:q}"
        " --merge-full-model {params.merge_full_model} --out {output.adapter:q} > {log:q} 2>&1"
