"""The paper's analyses (target `analyses`), per default generator cell: training curves, a PCA of
harvested checkpoints vs generated candidates, sampling trajectories in that PCA, and each
candidate's distance to its nearest checkpoint vs its score (text: dev score; image: FID).
Rule plot_<name> runs condpdiff.analysis.<name>; every path: condpdiff/pipeline/analysis_targets.py.
"""

from condpdiff.pipeline.analysis_targets import (
    TAG_CURVES,
    TAG_SETTING,
    AnalysisPaths,
    member_files,
    setting_arg,
)

AP = AnalysisPaths(config["results_dir"])
ANALYSIS = config["analysis"]
ANALYSIS_RESOURCES = dict(runtime=30, mem_mb=16000)


ANALYSIS_CANDIDATES = member_files(P.candidates, members)


rule plot_training_curves:
    input:
        autoencoder=P.autoencoder("curve.csv"),
        diffusion=P.diffusion("curve.csv"),
    output:
        figure=report(
            AP.curves("png"),
            caption="../report/training_curves.rst",
            category="Analyses",
            subcategory="Training curves",
            labels={
                "generator": "{backbone} r{rank}{ftseed} n{n} layers-{layers} norm-{norm}{genseed}",
                "condition": "{condition}",
            },
        ),
        data=AP.curves("csv"),
    log:
        P.log("plot_training_curves", TAG_CURVES),
    benchmark:
        P.benchmark("plot_training_curves", TAG_CURVES)
    conda:
        "../../environment.yml"
    resources:
        runtime=10,
        mem_mb=2000,
    params:
        smoothing=ANALYSIS["curves"]["smoothing"],
        setting=setting_arg,
        code=code("analysis.training_curves"),
    shell:
        "python -m condpdiff.analysis.training_curves --autoencoder {input.autoencoder:q}"
        " --diffusion {input.diffusion:q} --smoothing {params.smoothing} --setting {params.setting}"
        " --out {output.figure:q} --data {output.data:q} > {log:q} 2>&1"


rule plot_param_projection:
    input:
        harvests=all_harvests,
        candidates=ANALYSIS_CANDIDATES,
    output:
        figure=report(
            AP.projection("png"),
            caption="../report/param_projection.rst",
            category="Analyses",
            subcategory="Parameter projection",
            labels={
                "generator": "{backbone} r{rank}{ftseed} n{n} layers-{layers} norm-{norm}{genseed}",
                "condition": "{condition}",
                "sampler": "{draw}",
            },
        ),
        data=AP.projection("csv"),
        summary=AP.projection("json"),
        pca=AP.pca(),
    log:
        P.log("plot_param_projection", TAG_SETTING),
    benchmark:
        P.benchmark("plot_param_projection", TAG_SETTING)
    conda:
        "../../environment.yml"
    resources:
        **ANALYSIS_RESOURCES,
    params:
        tasks=lambda w: settings.words(members(w)),
        settings=settings.flags(ANALYSIS["projection"]),
        setting=setting_arg,
        code=code("analysis.param_projection"),
    shell:
        "python -m condpdiff.analysis.param_projection --tasks {params.tasks}"
        " --harvests {input.harvests:q} --candidates {input.candidates:q} --n {wildcards.n}"
        " {params.settings} --setting {params.setting} --out {output.figure:q}"
        " --data {output.data:q} --summary {output.summary:q} --pca {output.pca:q} > {log:q} 2>&1"


rule plot_sampling_trajectory:
    input:
        pca=AP.pca(),
        diffusion=P.diffusion("model.safetensors"),
        diffusion_config=P.diffusion("config.json"),
        autoencoder=P.autoencoder("model.safetensors"),
        autoencoder_config=P.autoencoder("config.json"),
        stats=P.norm_stats(),
        harvests=all_harvests,
        candidates=ANALYSIS_CANDIDATES,
        conditions=member_files(P.condition, members),
    output:
        figure=report(
            AP.trajectory("png"),
            caption="../report/sampling_trajectory.rst",
            category="Analyses",
            subcategory="Sampling trajectory",
            labels={
                "generator": "{backbone} r{rank}{ftseed} n{n} layers-{layers} norm-{norm}{genseed}",
                "condition": "{condition}",
                "sampler": "{draw}",
            },
        ),
        data=AP.trajectory("csv"),
        summary=AP.trajectory("json"),
    log:
        P.log("plot_sampling_trajectory", TAG_SETTING),
    benchmark:
        P.benchmark("plot_sampling_trajectory", TAG_SETTING)
    conda:
        "../../environment.yml"
    resources:
        gpu=GPU,
        runtime=RUNTIME["sample_candidates_runtime"],
        mem_mb=8000,
    params:
        diffusion=lambda w, input: os.path.dirname(input.diffusion),
        autoencoder=lambda w, input: os.path.dirname(input.autoencoder),
        tasks=lambda w: settings.words(members(w)),
        settings=settings.flags(ANALYSIS["trajectory"]),
        setting=setting_arg,
        code=code("analysis.sampling_trajectory"),
    shell:
        "python -m condpdiff.analysis.sampling_trajectory --diffusion {params.diffusion:q}"
        " --autoencoder {params.autoencoder:q} --stats {input.stats:q} --tasks {params.tasks}"
        " --harvests {input.harvests:q} --candidates {input.candidates:q}"
        " --conditions {input.conditions:q} --pca {input.pca:q} {params.settings}"
        " --setting {params.setting} --out {output.figure:q} --data {output.data:q}"
        " --summary {output.summary:q} > {log:q} 2>&1"


NEAREST = (
    "python -m condpdiff.analysis.nearest_checkpoint --domain {params.domain}"
    " --tasks {params.tasks} --harvests {input.harvests:q} --candidates {input.candidates:q}"
    " --harvest-scores {input.harvest_scores:q} {params.scores} --n {wildcards.n}"
    " --setting {params.setting} --out {output.figure:q} --data {output.data:q}"
    " --summary {output.summary:q} > {log:q} 2>&1"
)

if config.get("tasks"):

    rule plot_nearest_checkpoint:
        """Text: every candidate's dev score (candidate_scores.json, scored on demand) vs its distance."""
        input:
            harvests=all_harvests,
            candidates=ANALYSIS_CANDIDATES,
            scores=member_files(P.candidate_scores, members),
            harvest_scores=member_files(P.harvest_scores, members),
        output:
            figure=report(
                AP.nearest("png"),
                caption="../report/nearest_checkpoint.rst",
                category="Analyses",
                subcategory="Nearest checkpoint",
                labels={
                    "generator": "{backbone} r{rank}{ftseed} n{n} layers-{layers} norm-{norm}{genseed}",
                    "condition": "{condition}",
                    "sampler": "{draw}",
                    "scored": "dev",
                },
            ),
            data=AP.nearest("csv"),
            summary=AP.nearest("json"),
        log:
            P.log("plot_nearest_checkpoint", TAG_SETTING),
        benchmark:
            P.benchmark("plot_nearest_checkpoint", TAG_SETTING)
        wildcard_constraints:
            backbone=names.alternatives(list(config["backbones"])),
        conda:
            "../../environment.yml"
        resources:
            **ANALYSIS_RESOURCES,
        params:
            domain="text",
            tasks=lambda w: settings.words(members(w)),
            scores=lambda w, input: f"--scores {settings.words(input.scores)}",
            setting=setting_arg,
            code=code("analysis.nearest_checkpoint"),
        shell:
            NEAREST


if config.get("image"):

    rule plot_nearest_checkpoint_fid:
        """Image: every candidate's FID against the style's reference and train images vs its distance."""
        input:
            harvests=all_harvests,
            candidates=ANALYSIS_CANDIDATES,
            features=member_files(IP.candidate_features, members),
            reference=member_files(IP.real, members, part="reference"),
            train=member_files(IP.real, members, part="train"),
            harvest_scores=member_files(IP.scores.harvest_scores, members),
        output:
            figure=report(
                AP.nearest_fid("png"),
                caption="../report/nearest_checkpoint.rst",
                category="Analyses",
                subcategory="Nearest checkpoint",
                labels={
                    "generator": "{backbone} r{rank}{ftseed} n{n} layers-{layers} norm-{norm}{genseed}",
                    "condition": "{condition}",
                    "sampler": "{draw}",
                    "scored": "{evalpart}",
                },
            ),
            data=AP.nearest_fid("csv"),
            summary=AP.nearest_fid("json"),
        log:
            P.log("plot_nearest_checkpoint_fid", etag(TAG_SETTING)),
        benchmark:
            P.benchmark("plot_nearest_checkpoint_fid", etag(TAG_SETTING))
        wildcard_constraints:
            backbone=names.alternatives(imgset.bases(config)),
        conda:
            "../../environment.yml"
        resources:
            **ANALYSIS_RESOURCES,
        params:
            domain="image",
            tasks=lambda w: settings.words(members(w)),
            scores=lambda w, input: (
                f"--features {settings.words(input.features)}"
                f" --reference {settings.words(input.reference)}"
                f" --train {settings.words(input.train)}"
            ),
            setting=setting_arg,
            code=code("analysis.nearest_checkpoint"),
        shell:
            NEAREST
