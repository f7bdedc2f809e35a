"""The style-continuous generalisation set (target `generalisation`, config `image.generalisation`;
the paper's appendix C): M LoRAs between two styles, the generator trained on l in [0.1, 0.2) U
[0.3, 0.4) U ... U [0.9, 1.0) and tested on the other l against nearest-neighbour retrieval.
Rule <name> runs condpdiff.image.generalisation.<name>.
"""

from condpdiff.pipeline import generalisation_args as gsargs

TAG_GS = etag("{backbone}_r{rank}{ftseed}_{task}--{other}_m{points}")
TAG_GS_IMAGES = (
    f"{TAG_GS}_cond{{cond_k}}-seed{{cond_seed}}_ref{{ref_n}}-seed{{ref_seed}}"
)
TAG_GS_GEN = f"{TAG_GS_IMAGES}_norm-{{gnorm}}-pool{{pool}}"
TAG_GS_DRAW = f"{TAG_GS_GEN}_{{sampler}}-c{{cands}}"
TAG_GS_SCORED = f"{TAG_GS_DRAW}_select-{{select}}"
GS_STYLES = dict(task=names.alternatives(STYLES), other=names.alternatives(STYLES))
GS_GENERATOR = [IP.generalisation("generator", f) for f in gsargs.GENERATOR_FILES]


wildcard_constraints:
    points=r"\d+",
    cond_k=r"\d+",
    cond_seed=r"\d+",
    ref_n=r"\d+",
    ref_seed=r"\d+",
    gnorm="batch|none",
    pool="each|mean",
    cands=r"\d+",
    select="first|condition_fid",


rule build_generalisation_set:
    """theta(l) = (1 - l) theta_1 + l theta_2 at M grid points between two styles' last checkpoints."""
    input:
        harvest=lambda w: [
            P.harvest(backbone=w.backbone, rank=w.rank, ftseed=w.ftseed, task=s)
            for s in (w.task, w.other)
        ],
    output:
        set=IP.generalisation("set", "set.safetensors"),
        json=IP.generalisation("set", "set.json"),
    log:
        P.log("build_generalisation_set", TAG_GS),
    benchmark:
        P.benchmark("build_generalisation_set", TAG_GS)
    wildcard_constraints:
        **GS_STYLES,
    conda:
        "../../environment.yml"
    resources:
        runtime=10,
        mem_mb=4000,
    params:
        code=code("image.generalisation.build_generalisation_set"),
    shell:
        "python -m condpdiff.image.generalisation.build_generalisation_set"
        " --harvest {input.harvest:q}"
        " --styles {wildcards.task} {wildcards.other} --points {wildcards.points}"
        " --out {output.set:q} --json {output.json:q} > {log:q} 2>&1"


rule generate_generalisation_images:
    """Each l's condition images (-> ResNet maps, FID features) and each test l's reference features."""
    input:
        **generate_inputs(set=IP.generalisation("set", "set.safetensors")),
    output:
        conditions=IP.generalisation("images", "conditions.safetensors"),
        condition_features=IP.generalisation("images", "condition_features.safetensors"),
        reference_features=IP.generalisation("images", "reference_features.safetensors"),
        grid=report(
            IP.generalisation("images", "conditions.png"),
            caption="../report/generalisation_conditions.rst",
            category="Generalisation",
            subcategory="{task}--{other}",
            labels={
                "pair": "{task} -> {other}",
                "figure": "condition images along l",
                "evaluation": "{evalpart}",
            },
        ),
    log:
        P.log("generate_generalisation_images", TAG_GS_IMAGES),
    benchmark:
        P.benchmark("generate_generalisation_images", TAG_GS_IMAGES)
    wildcard_constraints:
        **GS_STYLES,
    conda:
        "../../environment.yml"
    threads: job_threads(IMG["generation"]["threads"])
    resources:
        **IMAGE_GPU_RESOURCES,
    params:
        args=image_args,
        gen=lambda w: imgset.generation_args(config, eval_seed(w)),
        encoder=gsargs.encoder_flags(config),
        condition=IMG["generator"]["condition"],
        code=code("image.generalisation.generate_generalisation_images"),
    shell:
        "python -m condpdiff.image.generalisation.generate_generalisation_images {params.args}"
        " {params.gen} {params.encoder}"
        " --set {input.set:q} --condition-images {wildcards.cond_k}"
        " --condition-seed {wildcards.cond_seed}"
        " --reference-images {wildcards.ref_n} --reference-seed {wildcards.ref_seed}"
        " --condition {params.condition:q} --conditions {output.conditions:q}"
        " --condition-features {output.condition_features:q}"
        " --reference-features {output.reference_features:q}"
        " --grid {output.grid:q} > {log:q} 2>&1"


rule train_generalisation_generator:
    """Normalisation, parameter autoencoder and conditional diffusion on the training l only."""
    input:
        set=IP.generalisation("set", "set.safetensors"),
        conditions=IP.generalisation("images", "conditions.safetensors"),
    output:
        files=GS_GENERATOR,
        report=IP.generalisation("generator", "report.json"),
    log:
        P.log("train_generalisation_generator", TAG_GS_GEN),
    benchmark:
        P.benchmark("train_generalisation_generator", TAG_GS_GEN)
    wildcard_constraints:
        **GS_STYLES,
    conda:
        "../../environment.yml"
    threads: job_threads(config["autoencoder"].get("threads"))
    resources:
        gpu=GPU,
        runtime=RUNTIME["train_diffusion_runtime"],
        mem_mb=16000,
    params:
        out_dir=lambda w, output: os.path.dirname(output.report),
        autoencoder=gsargs.generator_flags(config, "autoencoder", "ae"),
        diffusion=gsargs.generator_flags(config, "diffusion", "diffusion"),
        code=code("image.generalisation.train_generalisation_generator"),
    shell:
        "python -m condpdiff.image.generalisation.train_generalisation_generator"
        " --set {input.set:q} --conditions {input.conditions:q}"
        " --norm {wildcards.gnorm}"
        " --condition-pool {wildcards.pool} {params.autoencoder} {params.diffusion}"
        " --out-dir {params.out_dir:q} > {log:q} 2>&1"


rule sample_generalisation_candidates:
    """Candidates for every test l, conditioned on that l's condition images."""
    input:
        set=IP.generalisation("set", "set.safetensors"),
        conditions=IP.generalisation("images", "conditions.safetensors"),
        generator=GS_GENERATOR,
    output:
        candidates=IP.generalisation("draw", "candidates.safetensors"),
    log:
        P.log("sample_generalisation_candidates", TAG_GS_DRAW),
    benchmark:
        P.benchmark("sample_generalisation_candidates", TAG_GS_DRAW)
    wildcard_constraints:
        **GS_STYLES,
    conda:
        "../../environment.yml"
    resources:
        gpu=GPU,
        runtime=RUNTIME["sample_candidates_runtime"],
        mem_mb=8000,
    params:
        generator=lambda w, input: os.path.dirname(input.generator[0]),
        sampling=lambda w: gsargs.sampling_flags(config, w.cands),
        code=code("image.generalisation.sample_generalisation_candidates"),
    shell:
        "python -m condpdiff.image.generalisation.sample_generalisation_candidates"
        " --set {input.set:q} --conditions {input.conditions:q}"
        " --generator {params.generator:q} --sampler {wildcards.sampler} {params.sampling}"
        " --out {output.candidates:q} > {log:q} 2>&1"


rule sample_generalisation_training:
    """The generator at its own training l, in parameter space: does it reproduce them?"""
    input:
        set=IP.generalisation("set", "set.safetensors"),
        conditions=IP.generalisation("images", "conditions.safetensors"),
        generator=GS_GENERATOR,
        report=IP.generalisation("generator", "report.json"),
    output:
        check=IP.generalisation("draw", "training_check.json"),
    log:
        P.log("sample_generalisation_training", TAG_GS_DRAW),
    benchmark:
        P.benchmark("sample_generalisation_training", TAG_GS_DRAW)
    wildcard_constraints:
        **GS_STYLES,
    conda:
        "../../environment.yml"
    resources:
        gpu=GPU,
        runtime=RUNTIME["sample_candidates_runtime"],
        mem_mb=8000,
    params:
        generator=lambda w, input: os.path.dirname(input.generator[0]),
        sampling=lambda w: gsargs.sampling_flags(config, w.cands),
        code=code("image.generalisation.sample_generalisation_training"),
    shell:
        "python -m condpdiff.image.generalisation.sample_generalisation_training"
        " --set {input.set:q} --conditions {input.conditions:q}"
        " --generator {params.generator:q} --sampler {wildcards.sampler} {params.sampling}"
        " --out {output.check:q} > {log:q} 2>&1"


rule score_generalisation:
    """FID to each test l's reference images and parameter distance: generated vs nearest / retrieved / true / base."""
    input:
        **generate_inputs(
            set=IP.generalisation("set", "set.safetensors"),
            candidates=IP.generalisation("draw", "candidates.safetensors"),
            condition_features=IP.generalisation(
                "images", "condition_features.safetensors"
            ),
            reference_features=IP.generalisation(
                "images", "reference_features.safetensors"
            ),
        ),
    output:
        scores=IP.generalisation("scored", "scores.json"),
        csv=IP.generalisation("scored", "table.csv"),
    log:
        P.log("score_generalisation", TAG_GS_SCORED),
    benchmark:
        P.benchmark("score_generalisation", TAG_GS_SCORED)
    wildcard_constraints:
        **GS_STYLES,
    conda:
        "../../environment.yml"
    threads: job_threads(IMG["generation"]["threads"])
    resources:
        **IMAGE_GPU_RESOURCES,
    params:
        args=image_args,
        gen=lambda w: imgset.generation_args(config, eval_seed(w)),
        code=code("image.generalisation.score_generalisation"),
    shell:
        "python -m condpdiff.image.generalisation.score_generalisation {params.args} {params.gen}"
        " --set {input.set:q}"
        " --candidates {input.candidates:q} --condition-features {input.condition_features:q}"
        " --reference-features {input.reference_features:q} --condition-seed {wildcards.cond_seed}"
        " --select {wildcards.select} --out {output.scores:q} --csv {output.csv:q} > {log:q} 2>&1"


rule plot_generalisation:
    """The generalisation table (Markdown, HTML) and figure (FID, distance and l_hat against l)."""
    input:
        scores=IP.generalisation("scored", "scores.json"),
        training=IP.generalisation("draw", "training_check.json"),
    output:
        png=report(
            IP.generalisation("scored", "figure.png"),
            caption="../report/generalisation.rst",
            category="Generalisation",
            subcategory="{task}--{other}",
            labels={
                "pair": "{task} -> {other}",
                "figure": "FID, distance and l_hat vs test l",
                "evaluation": "{evalpart}",
            },
        ),
        html=report(
            IP.generalisation("scored", "table.html"),
            caption="../report/generalisation_table.rst",
            category="Generalisation",
            subcategory="{task}--{other}",
            labels={
                "pair": "{task} -> {other}",
                "figure": "table: test l vs nearest neighbour",
                "evaluation": "{evalpart}",
            },
        ),
        md=IP.generalisation("scored", "table.md"),
    log:
        P.log("plot_generalisation", TAG_GS_SCORED),
    benchmark:
        P.benchmark("plot_generalisation", TAG_GS_SCORED)
    wildcard_constraints:
        **GS_STYLES,
    conda:
        "../../environment.yml"
    resources:
        runtime=5,
        mem_mb=2000,
    params:
        code=code("image.generalisation.plot_generalisation"),
    shell:
        "python -m condpdiff.image.generalisation.plot_generalisation --scores {input.scores:q}"
        " --training {input.training:q}"
        " --md {output.md:q}"
        " --html {output.html:q} --png {output.png:q} > {log:q} 2>&1"
