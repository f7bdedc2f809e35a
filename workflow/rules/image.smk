"""The image branch (Table 2): style folders and their splits, a PixArt-alpha base (a tiny one
built and pretrained by rules offline), prompt embeddings cached once, style LoRA fine-tuning
with harvesting, the style-image condition, images generated per arm and scored by FID
(torch-fidelity). Rule <name> runs condpdiff.image.<concept>.<name> (styles, base, lora, fid,
generation) unless its docstring says otherwise; the generator rules (generator.smk) and the
cell/table rules (evaluate.smk) are shared with text.
"""


rule make_content_folder:
    """The tiny base's pretraining images (condpdiff.image.styles.make_style_folder, unstylised)."""
    output:
        folder=directory(IP.content()),
    log:
        P.log("make_content_folder", "content"),
    benchmark:
        P.benchmark("make_content_folder", "content")
    conda:
        "../../environment.yml"
    resources:
        runtime=10,
        mem_mb=2000,
    params:
        args=imgset.make_folder_args(config, None),
        code=code("image.styles.make_style_folder"),
    shell:
        "python -m condpdiff.image.styles.make_style_folder {params.args} --out {output.folder:q}"
        " > {log:q} 2>&1"


rule make_style_folder:
    output:
        folder=directory(IP.style_folder()),
    log:
        P.log("make_style_folder", "{task}"),
    benchmark:
        P.benchmark("make_style_folder", "{task}")
    wildcard_constraints:
        task=names.alternatives(imgset.made_styles(config)),
    conda:
        "../../environment.yml"
    resources:
        runtime=10,
        mem_mb=2000,
    params:
        args=lambda w: imgset.make_folder_args(config, w.task),
        code=code("image.styles.make_style_folder"),
    shell:
        "python -m condpdiff.image.styles.make_style_folder {params.args} --out {output.folder:q}"
        " > {log:q} 2>&1"


rule split_style:
    input:
        folder=style_folder_input,
    output:
        split=IP.split(),
    log:
        P.log("split_style", "{task}"),
    benchmark:
        P.benchmark("split_style", "{task}")
    wildcard_constraints:
        task=names.alternatives(STYLES),
    conda:
        "../../environment.yml"
    resources:
        runtime=5,
        mem_mb=2000,
    params:
        folder=lambda w: imgset.style_folder(config, w.task),
        args=lambda w: imgset.split_args(config, w.task),
        code=code("image.styles.split_style"),
    shell:
        "python -m condpdiff.image.styles.split_style --folder {params.folder:q}"
        " --style {wildcards.task}"
        " {params.args} --out {output.split:q} > {log:q} 2>&1"


rule build_base:
    output:
        base=directory(IP.base("built")),
    log:
        P.log("build_base", "{backbone}"),
    benchmark:
        P.benchmark("build_base", "{backbone}")
    priority: 10
    conda:
        "../../environment.yml"
    resources:
        runtime=5,
        mem_mb=2000,
    params:
        settings=lambda w: settings.flags(IMG["bases"][w.backbone]["tiny_random"]),
        code=code("image.base.build_base"),
    shell:
        "python -m condpdiff.image.base.build_base --out {output.base:q} {params.settings}"
        " > {log:q} 2>&1"


rule pretrain_base:
    input:
        base=IP.base("built"),
        content=IP.content(),
    output:
        base=directory(IP.base("pretrained")),
    log:
        P.log("pretrain_base", "{backbone}"),
    benchmark:
        P.benchmark("pretrain_base", "{backbone}")
    priority: 10  # the long pole of a fresh run: start it first
    conda:
        "../../environment.yml"
    threads: lambda w: job_threads(IMG["bases"][w.backbone].get("pretrain", {}).get("threads"))
    resources:
        gpu=GPU,
        runtime=RUNTIME["finetune_runtime"],
        mem_mb=16000,
    params:
        settings=lambda w: settings.flags(IMG["bases"][w.backbone].get("pretrain", {})),
        code=code("image.base.pretrain_base"),
    shell:
        "python -m condpdiff.image.base.pretrain_base --base {input.base:q}"
        " --images {input.content:q}"
        " {params.settings} --out {output.base:q} > {log:q} 2>&1"


rule encode_prompts:
    """Every caption and prompt of every style through the base's T5, once (the only job loading T5)."""
    input:
        base=base_input,
        splits=expand(IP.split(), task=STYLES),
    output:
        prompts=IP.prompts(),
    log:
        P.log("encode_prompts", "{backbone}"),
    benchmark:
        P.benchmark("encode_prompts", "{backbone}")
    conda:
        "../../environment.yml"
    resources:
        gpu=GPU,
        runtime=RUNTIME["encode_condition_runtime"],
        mem_mb=32000,
    params:
        model=lambda w: shlex.quote(imgset.base_model(config, w.backbone)),
        code=code("image.base.encode_prompts"),
    shell:
        "python -m condpdiff.image.base.encode_prompts --base {params.model}"
        " --splits {input.splits:q}"
        " --out {output.prompts:q} > {log:q} 2>&1"


rule finetune_style_lora:
    input:
        **generate_inputs(),
    output:
        harvest=P.harvest(),
        summary=P.finetune_summary(),
    log:
        P.log("finetune_style_lora", TAG_TASK),
    benchmark:
        P.benchmark("finetune_style_lora", TAG_TASK)
    wildcard_constraints:
        backbone=names.alternatives(imgset.bases(config)),
    conda:
        "../../environment.yml"
    threads: job_threads(IMG["finetune"]["threads"])
    resources:
        gpu=GPU,
        runtime=RUNTIME["finetune_runtime"],
        mem_mb=16000,
    params:
        args=image_args,
        settings=seeded(settings.flags(IMG["finetune"]), "ft"),
        code=code("image.lora.finetune_style_lora"),
    shell:
        "python -m condpdiff.image.lora.finetune_style_lora {params.args} --style {wildcards.task}"
        ' {params.settings} --out-dir "$(dirname {output.harvest:q})" > {log:q} 2>&1'


rule encode_style_condition:
    """A frozen ResNet-18 over the style's TRAIN images (image.styles.encode_condition)."""
    input:
        split=IP.split(),
    output:
        condition=P.condition(),
    log:
        P.log("encode_style_condition", "{condition}_{task}"),
    benchmark:
        P.benchmark("encode_style_condition", "{condition}_{task}")
    wildcard_constraints:
        condition=names.alternatives(names.IMAGE_CONDITIONS),
    conda:
        "../../environment.yml"
    resources:
        runtime=RUNTIME["encode_condition_runtime"],
        mem_mb=4000,
    params:
        settings=settings.flags(IMG["condition"]),
        code=code("image.styles.encode_condition"),
    shell:
        "python -m condpdiff.image.styles.encode_condition --split {input.split:q}"
        " --condition {wildcards.condition}"
        " {params.settings} --out {output.condition:q} > {log:q} 2>&1"


rule extract_real_features:
    """FID features of a style's own train or reference images (image.fid.extract_features)."""
    input:
        split=IP.split(),
    output:
        features=IP.real("{part}"),
    log:
        P.log("extract_real_features", "{evalpart}_{task}_{part}"),
    benchmark:
        P.benchmark("extract_real_features", "{evalpart}_{task}_{part}")
    conda:
        "../../environment.yml"
    resources:
        runtime=RUNTIME["score_runtime"],
        mem_mb=8000,
    params:
        fid=imgset.fid_args(config),
        resolution=IMG["fid"]["resolution"],
        code=code("image.fid.extract_features"),
    shell:
        "python -m condpdiff.image.fid.extract_features --split {input.split:q}"
        " --part {wildcards.part}"
        " --resolution {params.resolution} {params.fid} --out {output.features:q} > {log:q} 2>&1"


use rule train_autoencoder as train_image_autoencoder with:
    output:
        model=P.autoencoder("model.safetensors"),
        config=P.autoencoder("config.json"),
        curve=P.autoencoder("curve.csv"),
        report=P.autoencoder("report.json"),
        recon=expand(P.reconstructions(), task=STYLES, allow_missing=True),
    log:
        P.log("train_image_autoencoder", TAG_GEN),
    benchmark:
        P.benchmark("train_image_autoencoder", TAG_GEN)
    wildcard_constraints:
        backbone=names.alternatives(imgset.bases(config)),
        unseen="(?:)",  # the generator of every task (train_unseen_autoencoder: one left out)


# --- images generated per arm (same prompts, same seeds): their FID features and a grid ---

GENERATE = (
    "python -m condpdiff.image.generation.generate_images {params.args} {params.gen} {params.rows}"
    " --out {output.features:q} --grid {output.grid:q} > {log:q} 2>&1"
)


rule generate_harvest_images:
    input:
        **generate_inputs(params=task_harvest),
    output:
        features=IP.harvest_features(),
        grid=report(
            IP.grid(IP.harvest_features()),
            caption="../report/grid.rst",
            category="Image grids",
            subcategory="{task}",
            labels={
                "style": "{task}",
                "images of": "every {every}th harvested checkpoint",
                "evaluation": "{evalpart}",
            },
        ),
    log:
        P.log("generate_harvest_images", f"{EVAL_TAG}_every{{every}}"),
    benchmark:
        P.benchmark("generate_harvest_images", f"{EVAL_TAG}_every{{every}}")
    conda:
        "../../environment.yml"
    threads: job_threads(IMG["generation"]["threads"])
    resources:
        **IMAGE_GPU_RESOURCES,
    params:
        **generate_params(
            lambda w, input: f"--params {settings.words(input.params)} --every {w.every}"
        ),
        code=code("image.generation.generate_images"),
    shell:
        GENERATE


rule generate_soup_images:
    input:
        **generate_inputs(params=task_harvest),
    output:
        features=IP.soup_features(),
        grid=report(
            IP.grid(IP.soup_features()),
            caption="../report/grid.rst",
            category="Image grids",
            subcategory="{task}",
            labels={
                "style": "{task}",
                "images of": "model soup of {n}",
                "evaluation": "{evalpart}",
            },
        ),
    log:
        P.log("generate_soup_images", f"{EVAL_TAG}_n{{n}}"),
    benchmark:
        P.benchmark("generate_soup_images", f"{EVAL_TAG}_n{{n}}")
    conda:
        "../../environment.yml"
    threads: job_threads(IMG["generation"]["threads"])
    resources:
        **IMAGE_GPU_RESOURCES,
    params:
        **generate_params(
            lambda w, input: f"--params {settings.words(input.params)} --soup {w.n}"
        ),
        code=code("image.generation.generate_images"),
    shell:
        GENERATE


rule generate_nolora_images:
    input:
        **generate_inputs(),
    output:
        features=IP.nolora_features(),
        grid=report(
            IP.grid(IP.nolora_features()),
            caption="../report/grid.rst",
            category="Image grids",
            subcategory="{task}",
            labels={
                "style": "{task}",
                "images of": "no LoRA (the base)",
                "evaluation": "{evalpart}",
            },
        ),
    log:
        P.log("generate_nolora_images", "{evalpart}_{backbone}_{task}"),
    benchmark:
        P.benchmark("generate_nolora_images", "{evalpart}_{backbone}_{task}")
    conda:
        "../../environment.yml"
    threads: job_threads(IMG["generation"]["threads"])
    resources:
        **IMAGE_GPU_RESOURCES,
    params:
        **generate_params(lambda w, input: "--nolora"),
        code=code("image.generation.generate_images"),
    shell:
        GENERATE


rule generate_candidate_images:
    input:
        **generate_inputs(params=P.candidates()),
    output:
        features=IP.candidate_features(),
        grid=report(
            IP.grid(IP.candidate_features()),
            caption="../report/grid.rst",
            category="Image grids",
            subcategory="{task}",
            labels={
                "style": "{task}",
                "images of": "generated candidates ({kind}, {condition}, {draw})",
                "evaluation": "{evalpart}",
            },
        ),
    log:
        P.log("generate_candidate_images", etag(TAG_DRAW)),
    benchmark:
        P.benchmark("generate_candidate_images", etag(TAG_DRAW))
    conda:
        "../../environment.yml"
    threads: job_threads(IMG["generation"]["threads"])
    resources:
        **IMAGE_GPU_RESOURCES,
    params:
        **generate_params(lambda w, input: f"--params {settings.words(input.params)}"),
        code=code("image.generation.generate_images"),
    shell:
        GENERATE


# --- FID score caches (condpdiff.image.fid.score_fid), in the text scorer's format ---

SCORE_FID = (
    "python -m condpdiff.image.fid.score_fid --features {input.features:q} --against {input.real:q}"
    " {params.split} --out {output.scores:q} > {log:q} 2>&1"
)
FID_RESOURCES = dict(runtime=10, mem_mb=4000)


rule score_harvest_fid:
    input:
        features=IP.harvest_features(every=IMG["harvest_every"]),
        real=IP.real("reference"),
    output:
        scores=IP.scores.harvest_scores(),
    log:
        P.log("score_harvest_fid", EVAL_TAG),
    benchmark:
        P.benchmark("score_harvest_fid", EVAL_TAG)
    conda:
        "../../environment.yml"
    resources:
        **FID_RESOURCES,
    params:
        split="--split dev",
        code=code("image.fid.score_fid"),
    shell:
        SCORE_FID


rule score_soup_fid:
    input:
        features=IP.soup_features(),
        real=IP.real("reference"),
    output:
        scores=IP.scores.baseline("soup_scores"),
    log:
        P.log("score_soup_fid", f"{EVAL_TAG}_n{{n}}"),
    benchmark:
        P.benchmark("score_soup_fid", f"{EVAL_TAG}_n{{n}}")
    conda:
        "../../environment.yml"
    resources:
        **FID_RESOURCES,
    params:
        split="--split dev",
        code=code("image.fid.score_fid"),
    shell:
        SCORE_FID


rule score_nolora_fid:
    input:
        features=IP.nolora_features(),
        real=IP.real("reference"),
    output:
        scores=IP.nolora("nolora_scores"),
    log:
        P.log("score_nolora_fid", "{evalpart}_{backbone}_{task}"),
    benchmark:
        P.benchmark("score_nolora_fid", "{evalpart}_{backbone}_{task}")
    conda:
        "../../environment.yml"
    resources:
        **FID_RESOURCES,
    params:
        split="--split dev",
        code=code("image.fid.score_fid"),
    shell:
        SCORE_FID


rule score_selection_fid:
    """Every candidate's images against the style's TRAIN images: selection never reads a reference image."""
    input:
        features=IP.candidate_features(),
        real=IP.real("train"),
    output:
        scores=IP.scores.selection_scores(),
    log:
        P.log("score_selection_fid", etag(TAG_SEL)),
    benchmark:
        P.benchmark("score_selection_fid", etag(TAG_SEL))
    conda:
        "../../environment.yml"
    resources:
        **FID_RESOURCES,
    params:
        split="--split selection",
        code=code("image.fid.score_fid"),
    shell:
        SCORE_FID


rule score_selected_fid:
    """The selected candidate's images against the reference images (Table 2's generated cell)."""
    input:
        features=IP.candidate_features(),
        real=IP.real("reference"),
        selection=IP.scores.selection_scores(),
    output:
        scores=IP.scores.selected_scores(),
    log:
        P.log("score_selected_fid", etag(TAG_SEL)),
    benchmark:
        P.benchmark("score_selected_fid", etag(TAG_SEL))
    conda:
        "../../environment.yml"
    resources:
        **FID_RESOURCES,
    params:
        split=lambda w, input: f"--split dev --best-of {settings.words(input.selection)}",
        code=code("image.fid.score_fid"),
    shell:
        SCORE_FID


rule score_cross_fid:
    """The LoRA selected for style {source}, against style {task}'s reference images."""
    input:
        features=lambda w: IP.candidate_features(
            **{**dict(w.items()), "task": w.source}
        ),
        real=IP.real("reference"),
        cell=lambda w: IP.scores.generated(**{**dict(w.items()), "task": w.source}),
    output:
        scores=IP.scores.cross("cross_scores"),
    log:
        P.log("score_cross_fid", etag(TAG_CROSS)),
    benchmark:
        P.benchmark("score_cross_fid", etag(TAG_CROSS))
    conda:
        "../../environment.yml"
    resources:
        **FID_RESOURCES,
    params:
        split=lambda w, input: f"--split dev --row-from {settings.words(input.cell)}",
        code=code("image.fid.score_fid"),
    shell:
        SCORE_FID


rule score_style_screen:
    """A style's floor FID (its train vs its reference images) beside the base's FID to it
    (condpdiff.image.fid.screen)."""
    input:
        train=IP.real("train"),
        reference=IP.real("reference"),
        nolora=IP.nolora("nolora_scores"),
    output:
        cell=IP.screen(),
    log:
        P.log("score_style_screen", "{evalpart}_{backbone}_{task}"),
    benchmark:
        P.benchmark("score_style_screen", "{evalpart}_{backbone}_{task}")
    conda:
        "../../environment.yml"
    resources:
        **FID_RESOURCES,
    params:
        code=code("image.fid.screen"),
    shell:
        "python -m condpdiff.image.fid.screen --train {input.train:q}"
        " --reference {input.reference:q}"
        " --nolora {input.nolora:q} --out {output.cell:q} > {log:q} 2>&1"


# --- cells: the text cell rules on the image score caches ---


use rule make_original_cell as make_original_image_cell with:
    input:
        scores=IP.scores.harvest_scores(),
    output:
        cell=IP.scores.baseline("original"),
    log:
        P.log("make_original_image_cell", etag(TAG_N)),
    benchmark:
        P.benchmark("make_original_image_cell", etag(TAG_N))


use rule make_soup_cell as make_soup_image_cell with:
    input:
        scores=IP.scores.baseline("soup_scores"),
    output:
        cell=IP.scores.baseline("soup"),
    log:
        P.log("make_soup_image_cell", etag(TAG_N)),
    benchmark:
        P.benchmark("make_soup_image_cell", etag(TAG_N))


use rule make_generated_cell as make_generated_image_cell with:
    input:
        scores=IP.scores.selected_scores(),
        selection=IP.scores.selection_scores(),
    output:
        cell=IP.scores.generated(),
    log:
        P.log("make_generated_image_cell", etag(TAG_SEL)),
    benchmark:
        P.benchmark("make_generated_image_cell", etag(TAG_SEL))


use rule make_cross_cell as make_cross_image_cell with:
    input:
        scores=IP.scores.cross("cross_scores"),
    output:
        cell=IP.scores.cross("cross"),
    log:
        P.log("make_cross_image_cell", etag(TAG_CROSS)),
    benchmark:
        P.benchmark("make_cross_image_cell", etag(TAG_CROSS))


rule make_nolora_cell:
    """The base model alone (no LoRA) on a style's reference images."""
    input:
        scores=IP.nolora("nolora_scores"),
    output:
        cell=IP.nolora("nolora"),
    log:
        P.log("make_nolora_cell", "{evalpart}_{backbone}_{task}"),
    benchmark:
        P.benchmark("make_nolora_cell", "{evalpart}_{backbone}_{task}")
    conda:
        "../../environment.yml"
    resources:
        **CELL_RESOURCES,
    params:
        code=code("evaluate.cells"),
    shell:
        "python -m condpdiff.evaluate.cells nolora --scores {input.scores:q} --out {output.cell:q}"
        " > {log:q} 2>&1"


rule render_figure:
    """Reference images above no-LoRA / original / soup / generated, same prompts and seeds."""
    input:
        **generate_inputs(harvest=task_harvest, candidates=P.candidates()),
        cells=figure_cells,
    output:
        figure=report(
            IP.figure(),
            caption="../report/figure.rst",
            category="Style figures",
            labels={
                "style": "{task}",
                "figure": "reference / no LoRA / original / soup / generated",
                "evaluation": "{evalpart}",
            },
        ),
    log:
        P.log("render_figure", etag(TAG_DRAW)),
    benchmark:
        P.benchmark("render_figure", etag(TAG_DRAW))
    conda:
        "../../environment.yml"
    resources:
        **IMAGE_GPU_RESOURCES,
    params:
        args=image_args,
        gen=lambda w: imgset.generation_args(config, eval_seed(w), fid=False),
        code=code("image.generation.render_figure"),
    shell:
        "python -m condpdiff.image.generation.render_figure {params.args} {params.gen}"
        " --harvest {input.harvest:q}"
        " --candidates {input.candidates:q} --cells {input.cells:q} --out {output.figure:q}"
        " > {log:q} 2>&1"


rule reseed_arms:
    """Table 2's four reported parameter sets of a style regenerated at another seed (table2_noise)."""
    input:
        **generate_inputs(harvest=task_harvest, candidates=P.candidates()),
        reference=lambda w: IP.real("reference", evalpart=EVAL_PARTS[0], task=w.task),
        cells=table2_cells,
    output:
        cells=[IP.reseeded(arm) for arm in ("generated", "original", "soup", "nolora")],
    log:
        P.log("reseed_arms", etag(TAG_DRAW)),
    benchmark:
        P.benchmark("reseed_arms", etag(TAG_DRAW))
    conda:
        "../../environment.yml"
    threads: job_threads(IMG["generation"]["threads"])
    resources:
        **IMAGE_GPU_RESOURCES,
    params:
        args=image_args,
        gen=lambda w: imgset.generation_args(config, eval_seed(w)),
        code=code("image.generation.reseed_arms"),
    shell:
        "python -m condpdiff.image.generation.reseed_arms {params.args} {params.gen}"
        " --harvest {input.harvest:q}"
        " --candidates {input.candidates:q} --reference {input.reference:q} --cells {input.cells:q}"
        " --out {output.cells:q} > {log:q} 2>&1"
