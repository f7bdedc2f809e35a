"""The audit's arms (arXiv 2506.07998; condpdiff.audit), config `audit.arms`: draws of a generator
beside its own candidates (path part {control} after the sampler / recipe), so scoring, selection,
cells and, for images, candidate images and FID run on them unchanged. -null and -shuffled sample
the same generator with the same seed from another condition file (sample_control_candidates,
sample_control_direct); -noise copies the training checkpoint nearest to the selected candidate of
the generator's own draw with noise of its distance (make_noise_candidates). make_memorisation_cell
measures how near a selected candidate sits to the generator's training checkpoints.
"""


rule make_null_condition:
    """The task's condition with a zero embedding (arm -null)."""
    input:
        condition=P.condition(),
    output:
        condition=P.null_condition(),
    log:
        P.log("make_null_condition", TAG_CONDITION),
    benchmark:
        P.benchmark("make_null_condition", TAG_CONDITION)
    conda:
        "../../environment.yml"
    resources:
        runtime=5,
        mem_mb=2000,
    params:
        code=code("conditions.null_condition"),
    shell:
        "python -m condpdiff.conditions.null_condition --condition {input.condition:q}"
        " --task {wildcards.task} --out {output.condition:q} > {log:q} 2>&1"


use rule sample_candidates as sample_control_candidates with:
    input:
        diffusion=P.diffusion("model.safetensors"),
        diffusion_config=P.diffusion("config.json"),
        autoencoder=P.autoencoder("model.safetensors"),
        autoencoder_config=P.autoencoder("config.json"),
        stats=P.norm_stats(),
        harvest=task_harvest,
        condition=control_condition,
    log:
        P.log("sample_control_candidates", fill(TAG_DRAW, kind="pdiff")),
    benchmark:
        P.benchmark("sample_control_candidates", fill(TAG_DRAW, kind="pdiff"))
    wildcard_constraints:
        control=SAMPLED_CONTROL_RE,


use rule sample_direct as sample_control_direct with:
    input:
        model=P.direct("model.safetensors"),
        model_config=P.direct("config.json"),
        stats=P.norm_stats(),
        harvest=task_harvest,
        condition=control_condition,
    log:
        P.log("sample_control_direct", fill(TAG_DRAW, kind="direct")),
    benchmark:
        P.benchmark("sample_control_direct", fill(TAG_DRAW, kind="direct"))
    wildcard_constraints:
        control=SAMPLED_CONTROL_RE,


rule make_noise_candidates:
    """The training checkpoint nearest to the selected candidate, plus noise of its distance."""
    input:
        cell=noise_source_cell,
        candidates=lambda w: P.candidates(**own_draw(w)),
        harvest=task_harvest,
    output:
        candidates=P.candidates(),
    log:
        P.log("make_noise_candidates", TAG_DRAW),
    benchmark:
        P.benchmark("make_noise_candidates", TAG_DRAW)
    wildcard_constraints:
        draw=NOISE_DRAW_RE,
    conda:
        "../../environment.yml"
    resources:
        runtime=10,
        mem_mb=8000,
    params:
        num=config["sampling"]["num_candidates"],
        seed=lambda w: int(config["sampling"]["seed"]) + seed_of(w.get("genseed", "")),
        code=code("audit.noise"),
    shell:
        "python -m condpdiff.audit.noise --cell {input.cell:q} --candidates {input.candidates:q}"
        " --harvest {input.harvest:q} --task {wildcards.task} --n {wildcards.n}"
        " --num-candidates {params.num} --seed {params.seed} --out {output.candidates:q}"
        " > {log:q} 2>&1"


rule make_memorisation_cell:
    """The selected candidate's distance to its nearest training checkpoint over the training
    checkpoints' median nearest-neighbour distance."""
    input:
        cell=P.generated(),
        candidates=P.candidates(),
        harvests=all_harvests,
    output:
        cell=P.memorisation(),
    log:
        P.log("make_memorisation_cell", TAG_SEL),
    benchmark:
        P.benchmark("make_memorisation_cell", TAG_SEL)
    conda:
        "../../environment.yml"
    resources:
        runtime=10,
        mem_mb=8000,
    params:
        tasks=lambda w: settings.words(members(w)),
        code=code("audit.memorisation"),
    shell:
        "python -m condpdiff.audit.memorisation --cell {input.cell:q}"
        " --candidates {input.candidates:q} --task {wildcards.task} --tasks {params.tasks}"
        " --harvests {input.harvests:q} --n {wildcards.n} --out {output.cell:q} > {log:q} 2>&1"


if config.get("image"):

    use rule make_memorisation_cell as make_memorisation_image_cell with:
        input:
            cell=IP.scores.generated(),
            candidates=P.candidates(),
            harvests=all_harvests,
        output:
            cell=IP.scores.memorisation(),
        log:
            P.log("make_memorisation_image_cell", etag(TAG_SEL)),
        benchmark:
            P.benchmark("make_memorisation_image_cell", etag(TAG_SEL))
