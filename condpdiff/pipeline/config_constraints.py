"""Config checks between settings that a job would otherwise trip over late: after the LoRAs were
fine-tuned, after the autoencoder was trained, in the first step of a long training run, or not at
all (a result silently computed from an untrained part). Each problem is (config key, message), the
message naming the other keys and the values found; ``config.check_semantics`` raises the first.

Every check mirrors a failure the step itself would hit (the comment names it); no setting is
refused that a step would run with.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator

from condpdiff.pipeline.generators import generator_settings

Problem = tuple[str, str]

# The steps' defaults these checks need where a config leaves a key out. They live in the steps'
# dataclasses, which import torch (the workflow layer does not);
# tests/pipeline/test_config_constraints.py checks that these agree with them.
DEFAULTS = {
    # generator.pdiff: AutoencoderConfig; DenoiserConfig and DiffusionTrainConfig
    "autoencoder": {"channels": (16, 32, 64, 128, 256), "kernel": 9, "latent_length": 64},
    "diffusion": {"channels": (64, 128, 256), "kernel": 3, "cond_drop": 0.0},
    # text.finetune_lora.FinetuneConfig
    "finetune": {"epochs": 20, "batch_size": 16, "harvest_last": 150, "max_train_examples": None},
    # image.base.pixart.TinyPixArtConfig (fields the config does not expose)
    "tiny_pixart": {"patch_size": 2, "text_heads": 4},
}
TRAIN_TIMESTEPS = 1000  # generator.pdiff.noise.NoiseConfig.num_train_timesteps: most sampler steps
MIN_TRAIN_IMAGES = 2  # image.styles.split_style --min-train: train images a style split keeps
PROCEDURAL_PREFIX = "shape"  # image.styles.make_style_folder names procedural images shape_NNNN


def constraint_problems(config: dict) -> Iterator[Problem]:
    """Every cross-setting problem of a schema-valid config (defaults filled in), in order."""
    yield from seed_problems(config)
    yield from network_problems(config)
    yield from sampler_problems(config)
    yield from layer_problems(config)
    if config.get("tasks"):
        yield from text_problems(config)
        yield from custom_task_problems(config)
    if config.get("image"):
        yield from image_problems(config)
    if "analyses" in config.get("targets", []):
        yield from analysis_problems(config)


def seed_problems(config: dict) -> Iterator[Problem]:
    """A seed listed twice would be one set of paths counted as two replicates."""
    for kind, seeds in (config.get("seeds") or {}).items():
        repeated = sorted({s for s in seeds if seeds.count(s) > 1})
        if repeated:
            yield (
                f"seeds.{kind}",
                f"seed {repeated[0]} is listed more than once in {list(seeds)}: expected distinct "
                "seeds (each one is a replicate with its own paths)",
            )


def _value(config: dict, block: str, key: str, override: dict | None = None) -> tuple[str, object]:
    """(dotted key, value) of `block.key`: the generalisation's override, the config's, the
    default."""
    if override and key in (override.get(block) or {}):
        return f"image.generalisation.{block}.{key}", override[block][key]
    return f"{block}.{key}", (config.get(block) or {}).get(key, DEFAULTS[block][key])


KERNEL_REASON = {
    "autoencoder": "keeps the parameter length through its strided convolutions",
    "diffusion": "keeps the latent length through its convolutions (its skip connections need it)",
}


def network_problems(config: dict) -> Iterator[Problem]:
    """The autoencoder and denoiser shapes (the top-level blocks, and the generalisation generator's
    with its overrides), and classifier-free guidance against the training that enables it."""
    overrides = [None]
    gen = (config.get("image") or {}).get("generalisation") or {}
    if gen.get("autoencoder") or gen.get("diffusion"):
        overrides.append(gen)
    for over in overrides:
        lk, length = _value(config, "autoencoder", "latent_length", over)
        ck, channels = _value(config, "diffusion", "channels", over)
        levels = len(channels)
        factor = 2 ** (levels - 1)
        # denoiser.UNet1D: "latent length ... is not divisible by 2**...", in train_diffusion
        if length % factor:
            yield (
                lk,
                (
                    f"{length} is not divisible by 2**{levels - 1} = {factor}: the denoiser's "
                    f"{levels} levels ({ck} = {list(channels)}) halve the latent length "
                    f"{levels - 1} time(s); use a multiple of {factor} (e.g. "
                    f"{max(factor, length // factor * factor)}) or fewer levels"
                ),
            )
        # autoencoder: a ValueError in train_autoencoder; denoiser: a shape mismatch in training
        for block, why in KERNEL_REASON.items():
            key, kernel = _value(config, block, "kernel", over)
            if kernel % 2 == 0:
                yield (
                    key,
                    (
                        f"expected an odd kernel, found {kernel}: the {block} network {why} only "
                        "with padding kernel // 2"
                    ),
                )
        # sampling would mix in a 'no condition' embedding that was never trained
        guidance = (config.get("sampling") or {}).get("guidance_scale", 1.0)
        dk, drop = _value(config, "diffusion", "cond_drop", over)
        if guidance != 1 and drop <= 0:
            yield (
                "sampling.guidance_scale",
                (
                    f"{guidance} (classifier-free guidance) needs a diffusion model trained with "
                    f"condition dropout, but {dk} is {drop}: set {dk} > 0 (e.g. 0.1) or "
                    "sampling.guidance_scale: 1"
                ),
            )


def _sampler_steps(sampler: str) -> int | None:
    m = re.fullmatch(r"(?:ddpm|ddim)(\d+)", sampler)
    return int(m.group(1)) if m else None


def _pdiff_samplers(config: dict) -> list[tuple[str, str]]:
    """(config key, sampler) of every diffusion sampler the config runs."""
    out = []
    for prefix, present in (("", config.get("tasks")), ("image.", config.get("image"))):
        if present:
            out += [
                (f"{key}.sampler", s["sampler"])
                for key, s in generator_settings(config, prefix)
                if s.get("kind", "pdiff") == "pdiff"
            ]
    if config.get("tasks"):
        ablated = (config.get("ablations") or {}).get("sampler", [])
        out += [("ablations.sampler", s) for s in ablated]
    return out


def sampler_problems(config: dict) -> Iterator[Problem]:
    for key, sampler in _pdiff_samplers(config):
        steps = _sampler_steps(sampler)
        # diffusers' set_timesteps raises in sample_candidates, after both trainings
        if steps is not None and steps > TRAIN_TIMESTEPS:
            yield (
                key,
                (
                    f"{sampler!r} asks for {steps} steps, but the noise schedule has "
                    f"{TRAIN_TIMESTEPS} timesteps: expected at most {TRAIN_TIMESTEPS} (e.g. ddim50)"
                ),
            )


def layer_problems(config: dict) -> Iterator[Problem]:
    """Layer ranges 'a-b' that select no parameter: backwards, or past a tiny model's last layer
    (params.norm_stats: "layers=... selects no coordinate", after fine-tuning)."""
    checks = []
    if config.get("tasks"):
        models = {b: s.get("tiny_random") for b, s in config["backbones"].items()}
        abl = config.get("ablations") or {}
        abl_model = abl.get("backbone") or next(iter(models))
        checks.append(("generator.layers", [config["generator"]["layers"]], models, "backbone"))
        checks.append(
            (
                "ablations.layers",
                abl.get("layers", []),
                {abl_model: models.get(abl_model)},
                "backbone",
            )
        )
    if config.get("image"):
        img = config["image"]
        models = {b: s.get("tiny_random") for b, s in img["bases"].items()}
        checks.append(("image.generator.layers", [img["generator"]["layers"]], models, "base"))
    for key, values, models, what in checks:
        for value in values:
            m = re.fullmatch(r"(\d+)-(\d+)", str(value))
            if not m:
                continue
            lo, hi = int(m.group(1)), int(m.group(2))
            if lo > hi:
                yield (
                    key,
                    (
                        f"{value!r} runs backwards: expected an inclusive range a-b with "
                        f"a <= b (e.g. {hi}-{lo})"
                    ),
                )
            for name, tiny in models.items():
                layers = (tiny or {}).get("num_layers")
                if layers is not None and lo >= layers:
                    yield (
                        key,
                        (
                            f"{value!r} starts at layer {lo}, but {what} {name!r} has layers "
                            f"0..{layers - 1} (tiny_random.num_layers {layers}): it would "
                            "select no parameter"
                        ),
                    )


def text_problems(config: dict) -> Iterator[Problem]:
    for name, spec in config["backbones"].items():
        tiny = spec.get("tiny_random") or {}
        hidden, heads = tiny.get("hidden_size"), tiny.get("num_heads")
        # transformers' BertConfig, in build_tiny_backbone
        if hidden is not None and heads is not None and hidden % heads:
            yield (
                f"backbones.{name}.tiny_random.hidden_size",
                (
                    f"{hidden} is not a multiple of num_heads {heads}: attention splits the hidden "
                    "size across the heads"
                ),
            )
    ft, data = config.get("finetune") or {}, config.get("data") or {}

    def get(key):
        return ft.get(key, DEFAULTS["finetune"][key])

    cap = get("max_train_examples")
    synthetic = None
    if data.get("source") == "synthetic":
        synthetic = (data.get("synthetic") or {}).get("train_size", 256)
    # text.score.heldout_train: "fine-tuning used all ... training examples", after fine-tuning
    if (config.get("scoring") or {}).get("selection_from") == "heldout":
        if cap is None or (synthetic is not None and cap >= synthetic):
            found = (
                "not set (all of them)"
                if cap is None
                else f"{cap}, the synthetic train_size is {synthetic}"
            )
            yield (
                "scoring.selection_from",
                (
                    "'heldout' selects on the training examples fine-tuning left out, but "
                    f"finetune.max_train_examples is {found}: set it below the training set size, "
                    "or select with selection_from: train"
                ),
            )
    # text.finetune_lora: "... optimisation steps, fewer than finetune.harvest_last", per task
    known = [n for n in (cap, synthetic) if n is not None]
    if known:
        n, epochs, batch = min(known), get("epochs"), get("batch_size")
        steps = epochs * math.ceil(n / batch)
        if steps < get("harvest_last"):
            source = "finetune.max_train_examples" if n == cap else "data.synthetic.train_size"
            yield (
                "finetune.harvest_last",
                (
                    f"{get('harvest_last')} checkpoints, but fine-tuning runs at most {epochs} "
                    f"epochs x ceil({n} examples ({source}) / batch_size {batch}) = {steps} "
                    "optimisation steps: lower it, or raise finetune.epochs or the number of "
                    "training examples"
                ),
            )


def custom_task_problems(config: dict) -> Iterator[Problem]:
    """A custom task's metric against its number of labels, its label map and its tsv columns."""
    custom = config.get("custom_tasks") or {}
    reads_tsv = (config.get("data") or {}).get("source") != "hub"
    for name in [t for t in config["tasks"] if t in custom]:
        spec, key = custom[name], f"custom_tasks.{name}"
        labels, metric = spec["num_labels"], spec["metric"]
        # sklearn, at the first dev score: "continuous is not supported" / "Target is multiclass"
        if labels == 1 and metric != "pearson":
            yield (
                f"{key}.metric",
                (
                    f"{metric!r} scores class predictions; a regression task "
                    "(num_labels 1) needs 'pearson'"
                ),
            )
        if labels > 2 and metric == "f1":
            yield (
                f"{key}.metric",
                (
                    f"'f1' is the binary F1 of class 1; with num_labels {labels} "
                    "use accuracy or matthews"
                ),
            )
        # the loss: "Target ... is out of bounds", in training
        tsv = spec.get("tsv") or {}
        bad = {
            k: v
            for k, v in (tsv.get("label_map") or {}).items()
            if labels > 1 and not 0 <= v < labels
        }
        if bad:
            yield (
                f"{key}.tsv.label_map",
                (f"{bad} maps to no class: expected values 0..{labels - 1} (num_labels {labels})"),
            )
        if reads_tsv:
            yield from _tsv_problems(key, tsv)


def _tsv_problems(key: str, tsv: dict) -> Iterator[Problem]:
    """Columns the tsv reader cannot find (text.data.read_glue_tsv, when a job reads the data)."""
    header = tsv.get("header", True)
    columns = tsv.get("columns")
    used = {
        "text_columns": list(tsv.get("text_columns", ["sentence"])),
        "label_column": [tsv.get("label_column", "label")],
    }
    for field, values in used.items():
        wrong = [v for v in values if isinstance(v, int) == header]
        if wrong:
            want = (
                "column names (the file has a header)"
                if header
                else "0-based column indices (tsv.header: false)"
            )
            yield f"{key}.tsv.{field}", f"expected {want}, found {wrong}"
        elif columns is not None and header and any(v not in columns for v in values):
            missing = [v for v in values if v not in columns]
            yield f"{key}.tsv.{field}", f"{missing} not among tsv.columns {columns}"
        elif columns is not None and not header and any(v >= len(columns) for v in values):
            yield (
                f"{key}.tsv.{field}",
                (f"{values} reaches past the {len(columns)} columns of tsv.columns {columns}"),
            )


def image_problems(config: dict) -> Iterator[Problem]:
    img = config["image"]
    patch, heads = DEFAULTS["tiny_pixart"]["patch_size"], DEFAULTS["tiny_pixart"]["text_heads"]
    for name, spec in img["bases"].items():
        tiny, key = spec.get("tiny_random"), f"image.bases.{name}.tiny_random"
        if not tiny:
            continue
        # TinyPixArtConfig's own checks, in build_base
        if tiny.get("sample_size", 8) % patch:
            yield (
                f"{key}.sample_size",
                (f"{tiny['sample_size']} is not a multiple of the patch size {patch}"),
            )
        vae = tiny.get("vae_channels", [16, 32])
        groups = min(32, min(vae))
        if any(c % groups for c in vae):
            yield (
                f"{key}.vae_channels",
                (
                    f"{vae}: expected multiples of {groups} (group "
                    "normalisation over min(32, channels) groups)"
                ),
            )
        if tiny.get("text_dim", 32) % heads:
            yield (
                f"{key}.text_dim",
                (f"{tiny['text_dim']} is not a multiple of the text encoder's {heads} heads"),
            )
    si, split = img.get("style_images") or {}, img.get("split") or {}
    stylized = any("stylize" in s for s in img["styles"].values())
    photos = (img.get("content") or {}).get("source", "photos") == "photos" and any(
        s.get("tiny_random") for s in img["bases"].values()
    )
    crop, side = si.get("crop", 32), si.get("short_side", 96)
    # image.styles.stylize.StylizeConfig, in make_style_folder
    if (stylized or photos) and crop > side:
        yield (
            "image.style_images.crop",
            (f"{crop} px does not fit in photos scaled to image.style_images.short_side {side} px"),
        )
    procedural = sorted(k for k, s in img["styles"].items() if "procedural" in s)
    if not procedural:
        return
    n, n_ref = si.get("n_images", 64), split.get("n_reference", 64)
    # image.styles.folder, in split_style: "split by group needs at least two groups" /
    # "the split needs ... images"
    if split.get("group_by", "none") == "prefix":
        yield (
            "image.split.group_by",
            (
                "'prefix' keeps images sharing a file-name prefix together, but procedural styles "
                f"{procedural} name every image {PROCEDURAL_PREFIX}_NNNN (one group): use "
                "group_by: none"
            ),
        )
    elif n < n_ref + MIN_TRAIN_IMAGES:
        yield (
            "image.split.n_reference",
            (
                f"{n_ref} reference + {MIN_TRAIN_IMAGES} train images do not fit the {n} images of "
                f"procedural styles {procedural} (image.style_images.n_images)"
            ),
        )


def analysis_problems(config: dict) -> Iterator[Problem]:
    """The ``analyses`` target: trajectories and the PCA within what the generators provide."""
    analysis = config.get("analysis") or {}
    traj, proj = analysis.get("trajectory") or {}, analysis.get("projection") or {}
    paths, points = traj.get("paths", 5), traj.get("points", 6)
    components = proj.get("components", 2)
    candidates = (config.get("sampling") or {}).get("num_candidates", 20)
    # analysis.sampling_trajectory: "... trajectory paths asked, but ... holds ... candidates"
    if paths > candidates:
        yield (
            "analysis.trajectory.paths",
            (f"{paths} paths, but sampling.num_candidates is {candidates}: expected at most that"),
        )
    branches = []
    if config.get("tasks"):
        branches.append(("generator", config["generator"], len(config["tasks"]), "tasks"))
    if config.get("image"):
        img = config["image"]
        branches.append(("image.generator", img["generator"], len(img["styles"]), "styles"))
    for key, gen, members, what in branches:
        # analysis.sampling_trajectory.schedule_points: "... points asked of a sampler with ..."
        steps = _sampler_steps(gen["sampler"])
        if steps is not None and points > steps:
            yield (
                "analysis.trajectory.points",
                (f"{points} points, but {key}.sampler {gen['sampler']!r} has {steps} steps"),
            )
        # analysis.param_projection.fit: a PCA of the n x members harvested checkpoints
        rows = gen["n"] * members
        if components > rows:
            yield (
                "analysis.projection.components",
                (
                    f"{components} components, but the PCA is fitted on {key}.n {gen['n']} x "
                    f"{members} {what} = {rows} checkpoints"
                ),
            )
