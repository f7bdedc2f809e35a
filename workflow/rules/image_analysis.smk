"""Figures of the image branch beyond Table 2: the interpolation between two styles' LoRAs
(target `interpolation`, config `image.interpolation`). Rule <name> runs
condpdiff.image.interpolation.<name>.
"""

INTERPOLATION = IMG["interpolation"]
TAG_PAIR = etag(f"{TAG_DRAW}--{{other}}")


rule interpolate_styles:
    """theta(l) = (1 - l) theta_1 + l theta_2 between Table 2's parameter sets of two styles, FID to both."""
    input:
        **generate_inputs(
            split2=lambda w: IP.split(task=w.other),
            harvest=lambda w: [
                P.harvest(**{**dict(w.items()), "task": s}) for s in (w.task, w.other)
            ],
            candidates=lambda w: [
                P.candidates(**{**dict(w.items()), "task": s})
                for s in (w.task, w.other)
            ],
            cells=figure_cells,
            cells2=lambda w: figure_cells({**dict(w.items()), "task": w.other}),
            reference=lambda w: [
                IP.real("reference", evalpart=w.evalpart, task=s)
                for s in (w.task, w.other)
            ],
        ),
    output:
        curves=IP.interpolation("curve.json"),
        csv=IP.interpolation("curve.csv"),
        strip=IP.interpolation("strip.safetensors"),
    log:
        P.log("interpolate_styles", TAG_PAIR),
    benchmark:
        P.benchmark("interpolate_styles", TAG_PAIR)
    wildcard_constraints:
        task=names.alternatives(STYLES),
        other=names.alternatives(STYLES),
    conda:
        "../../environment.yml"
    threads: job_threads(IMG["generation"]["threads"])
    resources:
        **IMAGE_GPU_RESOURCES,
    params:
        args=image_args,
        gen=lambda w: imgset.generation_args(config, eval_seed(w)),
        interpolation=f"--points {INTERPOLATION['points']}"
        f" --arms {settings.words(INTERPOLATION['arms'])}"
        f" --strip-images {INTERPOLATION['strip_prompts']}",
        code=code("image.interpolation.interpolate_styles"),
    shell:
        "python -m condpdiff.image.interpolation.interpolate_styles {params.args} {params.gen}"
        " {params.interpolation}"
        " --split2 {input.split2:q} --harvest {input.harvest:q} --candidates {input.candidates:q}"
        " --cells {input.cells:q} --cells2 {input.cells2:q} --reference {input.reference:q}"
        " --out {output.curves:q} --csv {output.csv:q} --strip {output.strip:q} > {log:q} 2>&1"


rule plot_interpolation:
    """The strip, the FID curves and the crossing table of one interpolation."""
    input:
        curves=IP.interpolation("curve.json"),
        strip=IP.interpolation("strip.safetensors"),
    output:
        strip=report(
            IP.interpolation("strip.png"),
            caption="../report/interpolation_strip.rst",
            category="Interpolation",
            subcategory="{task}--{other}",
            labels={
                "pair": "{task} -> {other}",
                "figure": "images along l (rows: arms)",
                "evaluation": "{evalpart}",
            },
        ),
        curve=report(
            IP.interpolation("curve.png"),
            caption="../report/interpolation.rst",
            category="Interpolation",
            subcategory="{task}--{other}",
            labels={
                "pair": "{task} -> {other}",
                "figure": "FID to both styles vs l",
                "evaluation": "{evalpart}",
            },
        ),
        crossing=IP.interpolation("crossing.md"),
    log:
        P.log("plot_interpolation", TAG_PAIR),
    benchmark:
        P.benchmark("plot_interpolation", TAG_PAIR)
    wildcard_constraints:
        task=names.alternatives(STYLES),
        other=names.alternatives(STYLES),
    conda:
        "../../environment.yml"
    resources:
        runtime=5,
        mem_mb=2000,
    params:
        code=code("image.interpolation.plot_interpolation"),
    shell:
        "python -m condpdiff.image.interpolation.plot_interpolation --curves {input.curves:q}"
        " --strip {input.strip:q}"
        " --strip-png {output.strip:q} --curve-png {output.curve:q} --crossing {output.crossing:q}"
        " > {log:q} 2>&1"
