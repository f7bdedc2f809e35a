"""Artifact paths of the image branch (docs/formats.md), beside ``pipeline.paths``.

Fine-tuning, the generator and the candidates use ``Paths`` unchanged ({backbone} is the
base key, {task} the style key). What is new, under R = results_dir:

    R/image/content/                                        the tiny base's pretraining images
    R/image/styles/{task}/                                  a style folder made by a rule
    R/image/splits/{task}.json                              its train / reference split
    R/image/bases/{backbone}/{built,pretrained}/            a tiny base (diffusers folders)
    R/image/bases/{backbone}/prompts.safetensors            every caption and prompt, T5-encoded
                                                            once
    R/image/eval/{EVAL}/                                    E: everything FID depends on
      E/real/{task}/{train,reference}.safetensors           features of the style's own images
      E/features/{backbone}/r{rank}{ftseed}/{task}/harvest-every{k}.safetensors
      E/features/{backbone}/r{rank}{ftseed}/n{n}/{task}/soup.safetensors
      E/features/{backbone}/nolora/{task}.safetensors
      E/features/GEN/DRAW/{task}.safetensors                the candidates' generated images'
                                                            features
      E/grids/...png                                        an image grid per features file (same
                                                            prompts, same seeds)
      E/figures/GEN/DRAW/{task}.png                         reference images above the four arms
      E/scores/...                                          score caches and cells, laid out as
                                                            Paths'
      E/scores/GEN/DRAW/{task}/reseeded/{arm}.json          Table 2's reported arms at E's seed
                                                            (noise)
      E/interpolation/GEN/DRAW/{task}--{other}/             theta(l) = (1 - l) theta_{task} + l
                                                            theta_{other}:
        curve.json, curve.csv, strip.safetensors            FID to both styles per arm and l; the
                                                            strip's images
        strip.png, curve.png, crossing.md                   the figures and where the two FID curves
                                                            cross
      E/generalisation/{backbone}/r{rank}{ftseed}/{task}--{other}/m{points}/
                                                            GS: the generalisation set (M LoRAs)
        GS/set.safetensors, set.json
        GS/IMG/ (IMG = cond{cond_k}-seed{cond_seed}_ref{ref_n}-seed{ref_seed})
          conditions.safetensors, condition_features.safetensors, reference_features.safetensors,
          conditions.png
        GS/IMG/GG/generator/ (GG = norm-{gnorm}-pool{pool})
          stats, autoencoder/, diffusion/, report.json
        GS/IMG/GG/{sampler}-c{cands}/candidates.safetensors, training_check.json
        GS/IMG/GG/{sampler}-c{cands}/select-{select}/        scores.json, table.{csv,md,html},
                                                             figure.png

EVAL = ``{extractor}-n{n_images}-steps{steps}-g{guidance}-seed{seed}``: the generation and
FID settings, so a second seed (FID noise) or another extractor is another folder. {ftseed} and
{genseed} are the fine-tuning and generator seeds' path parts (``paths.seed_part``; "" for seed 0):
every path with ``r{rank}`` carries {ftseed}, every GEN (``paths.GEN_PART``) both.
"""

from __future__ import annotations

from condpdiff.pipeline.paths import DRAW_PART, GEN_PART, Paths, fill

# The files of one interpolation pair: condpdiff.image.interpolation.interpolate_styles writes the
# data (curve.*) and the strip's images, condpdiff.image.interpolation.plot_interpolation the
# figures and the crossing table.
INTERPOLATION_DATA = ("curve.json", "curve.csv", "strip.safetensors")
INTERPOLATION_FIGURES = ("strip.png", "curve.png", "crossing.md")
INTERPOLATION_FILES = INTERPOLATION_DATA + INTERPOLATION_FIGURES

# The generalisation set (target ``generalisation``), one folder level per step's settings.
GENERALISATION_SET = "generalisation/{backbone}/r{rank}{ftseed}/{task}--{other}/m{points}"
GENERALISATION_IMAGES = (
    GENERALISATION_SET + "/cond{cond_k}-seed{cond_seed}_ref{ref_n}-seed{ref_seed}"
)
GENERALISATION_GENERATOR = GENERALISATION_IMAGES + "/norm-{gnorm}-pool{pool}"
GENERALISATION_DRAW = GENERALISATION_GENERATOR + "/{sampler}-c{cands}"
GENERALISATION_SCORED = GENERALISATION_DRAW + "/select-{select}"
GENERALISATION_LEVELS = {
    "set": GENERALISATION_SET,
    "images": GENERALISATION_IMAGES,
    "generator": GENERALISATION_GENERATOR + "/generator",
    "draw": GENERALISATION_DRAW,
    "scored": GENERALISATION_SCORED,
}
# what the target lists: the figure, the table and the data behind them, and the condition images'
# grid
GENERALISATION_FILES = (
    ("scored", "figure.png"),
    ("scored", "table.md"),
    ("scored", "table.html"),
    ("scored", "table.csv"),
    ("scored", "scores.json"),
    ("images", "conditions.png"),
)


def eval_part(config: dict, seed: int | None = None) -> str:
    img = config["image"]
    g, fid = img["generation"], img["fid"]
    guidance = f"{float(g['guidance_scale']):g}"
    return (
        f"{fid['extractor']}-n{g['n_images']}-steps{g['steps']}-g{guidance}"
        f"-seed{g['seed'] if seed is None else seed}"
    )


class ImagePaths:
    """Image-branch paths under one results folder, for one evaluation setting (`evalpart`)."""

    def __init__(self, results: str, evalpart: str = "{evalpart}"):
        self.root = str(results).rstrip("/")
        self.eval_root = f"{self.root}/image/eval/{evalpart}"
        self.scores = Paths(self.eval_root)  # score caches and cells, in Paths' layout

    def _p(self, rel: str, w: dict) -> str:
        return fill(f"{self.root}/image/{rel}", **w)

    def _e(self, rel: str, w: dict) -> str:
        return fill(f"{self.eval_root}/{rel}", **w)

    def content(self) -> str:
        return f"{self.root}/image/content"

    def style_folder(self, **w) -> str:
        return self._p("styles/{task}", w)

    def split(self, **w) -> str:
        return self._p("splits/{task}.json", w)

    def base(self, stage: str, **w) -> str:
        """``built`` (random) or ``pretrained`` folder of a tiny base."""
        return self._p(f"bases/{{backbone}}/{stage}", w)

    def prompts(self, **w) -> str:
        return self._p("bases/{backbone}/prompts.safetensors", w)

    def real(self, part: str, **w) -> str:
        return self._e(f"real/{{task}}/{part}.safetensors", w)

    def harvest_features(self, **w) -> str:
        return self._e(
            "features/{backbone}/r{rank}{ftseed}/{task}/harvest-every{every}.safetensors", w
        )

    def soup_features(self, **w) -> str:
        return self._e("features/{backbone}/r{rank}{ftseed}/n{n}/{task}/soup.safetensors", w)

    def nolora_features(self, **w) -> str:
        return self._e("features/{backbone}/nolora/{task}.safetensors", w)

    def candidate_features(self, **w) -> str:
        return self._e(f"features/{GEN_PART}/{DRAW_PART}/{{task}}.safetensors", w)

    def grid(self, features: str) -> str:
        """The image grid (PNG) written beside a features file: ``features/...`` ->
        ``grids/....png``."""
        head, sep, tail = features.partition("/features/")
        if not sep or not tail.endswith(".safetensors"):
            raise ValueError(f"not a generated-features path: {features}")
        return f"{head}/grids/{tail[: -len('.safetensors')]}.png"

    def nolora(self, name: str, **w) -> str:
        """``nolora.json`` (cell) or ``nolora_scores.json`` of the base model alone."""
        return self._e(f"scores/{{backbone}}/nolora/{{task}}/{name}.json", w)

    def figure(self, **w) -> str:
        """The per-style figure: reference images above no-LoRA / original / soup / generated."""
        return self._e(f"figures/{GEN_PART}/{DRAW_PART}/{{task}}.png", w)

    def reseeded(self, arm: str, **w) -> str:
        """One of Table 2's reported arms regenerated at this eval part's seed (table2_noise)."""
        return self._e(f"scores/{GEN_PART}/{DRAW_PART}/{{task}}/reseeded/{arm}.json", w)

    def screen(self, **w) -> str:
        return self._e("scores/{backbone}/screen/{task}.json", w)

    def interpolation(self, name: str, **w) -> str:
        """A file (``name``: see ``INTERPOLATION_FILES``) of the interpolation from style {task} to
        {other}."""
        return self._e(f"interpolation/{GEN_PART}/{DRAW_PART}/{{task}}--{{other}}/{name}", w)

    def generalisation(self, level: str, name: str, **w) -> str:
        """A file `name` of the generalisation set at `level` (``GENERALISATION_LEVELS``: set,
        images, generator, draw, scored)."""
        if level not in GENERALISATION_LEVELS:
            raise ValueError(
                f"unknown generalisation level {level!r}: expected one of "
                f"{list(GENERALISATION_LEVELS)}"
            )
        return self._e(f"{GENERALISATION_LEVELS[level]}/{name}", w)
