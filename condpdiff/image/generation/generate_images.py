"""Generate a style's images from every row of a parameter file (or the base alone) and keep
their FID features, not the images.

The base is loaded ONCE without its T5 encoder (prompt embeddings come from the prompt cache,
``image.base.prompts``); LoRA is injected once (``pixart.add_lora``) and each row's weights are
loaded in place (``pixart.load_lora_state``). Image j uses prompt ``prompts[j % P]`` of the
split file and its own noise generator seeded from (``seed``, j): the SAME prompts and noise
for every row and every arm (LoRA rows, soup, no LoRA), so arms differ only by their weights,
and the noise of an image does not depend on the batch size. Images are generated at the
base's native size, then resized and centre-cropped to ``resolution`` (as the real images
are) and turned into features (``image.fid.features``). A grid PNG shows the first 8 images of
at most 8 rows, spread evenly over the rows.

Rows as ``text.score`` chooses them: ``--soup N`` (one row: the mean of the last N rows),
``--every k`` (every k-th row counted back from the last), ``--best-of`` (the row a selection
score cache selects) or ``--row-from`` (a generated cell's ``selected_row``).
"""

from __future__ import annotations

import argparse
import logging
import time
from dataclasses import asdict, dataclass

import numpy as np
import torch
from tqdm import tqdm

from condpdiff.image.args import add_base_style_args, add_extractor_args
from condpdiff.image.base import pixart
from condpdiff.image.base.prompts import PromptCache
from condpdiff.image.fid.extractors import DEFAULT_EXTRACTOR
from condpdiff.image.fid.features import Extractor, FeatureSet, resize_and_crop, to_uint8
from condpdiff.image.styles.splitfile import load_split
from condpdiff.params.paramfile import ParamSet
from condpdiff.pipeline.artifacts import SCORES_FORMAT, artifact_error, load_json
from condpdiff.util import cli
from condpdiff.util.atomic import atomic_path
from condpdiff.util.ranking import selected_row

log = logging.getLogger("condpdiff.image.generation.generate_images")
GRID_ROWS, GRID_COLS = 8, 8
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


@dataclass
class GenerationConfig:
    n_images: int = 64  # images per row (FID falls as the count grows: compare equal counts only)
    steps: int = 20
    guidance_scale: float = 4.5
    seed: int = 0
    resolution: int = 256  # generated images are resized + centre-cropped to this before features
    batch_size: int = 16
    scheduler: str = (
        "base"  # base (the base's own) | a diffusers scheduler class, from the base's config
    )
    device: str = "auto"  # auto | cpu | cuda
    threads: int = 0  # torch CPU threads (0: torch's default)
    dtype: str = "float32"  # float32 | bfloat16 | float16 (the transformer and VAE)


def image_generator(seed: int, j: int) -> torch.Generator:
    """The noise generator of image j: seeded from (seed, j) alone,
    so identical in every arm and batch size."""
    return torch.Generator().manual_seed(
        int(np.random.SeedSequence([seed, j]).generate_state(1)[0])
    )


def soup(pset: ParamSet, n: int) -> ParamSet:
    """The mean of the last `n` rows as a one-row ParamSet (``soup_of`` = n in its info)."""
    src = pset.last(n)
    return ParamSet(
        params=src.params.double().mean(0, keepdim=True).float(),
        layout=src.layout,
        steps=src.steps[-1:].clone(),
        loss=torch.full((1,), float("nan")),
        info={**src.info, "kind": "soup", "soup_of": src.n},
    )


def choose_rows(
    pset: ParamSet,
    params_path,
    every: int = 1,
    soup_n: int | None = None,
    best_of: str | None = None,
    row_from: str | None = None,
) -> tuple[ParamSet, list[int], dict]:
    """The rows to generate from, their indices in the file,
    and the record ``text.score`` keeps as ``rows``."""
    if best_of is not None and row_from is not None:
        raise SystemExit("give at most one of --row-from and --best-of")
    n_in_file, idx, row = pset.n, list(range(pset.n)), None
    if soup_n is not None:
        pset, idx = soup(pset, soup_n), [n_in_file - 1]
    if every != 1:
        n, pset = pset.n, pset.every(every)  # every() refuses k < 1
        idx = [idx[i] for i in range((n - 1) % every, n, every)]
    if best_of is not None:
        sel = load_json(best_of, "score cache", SCORES_FORMAT, keys=("scores", "higher_is_better"))
        if "selection" not in sel["scores"]:
            raise artifact_error(
                best_of,
                "score cache without the selection split",
                "scores['selection']",
                f"splits {sorted(sel['scores'])}",
            )
        row = selected_row(sel, best_of)
    elif row_from is not None:
        row = int(load_json(row_from, "generated cell", keys=("selected_row",))["selected_row"])
    if row is not None:
        if not 0 <= row < pset.n:
            raise SystemExit(
                f"{best_of or row_from}: selected row {row} is not a row of {params_path} "
                f"({pset.n} rows)"
            )
        pset, idx = pset.select([row]), [idx[row]]
    record = {
        "last": None,
        "soup": soup_n,
        "every": every,
        "row_from": row_from or best_of,
        "row": row,
        "in_file": n_in_file,
    }
    return pset, idx, record


def load_pipeline(base: str, cfg: GenerationConfig):
    """The base's PixArt pipeline WITHOUT its T5 encoder and tokenizer (prompts come embedded)."""
    if cfg.dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {sorted(DTYPES)}, got {cfg.dtype!r}")
    comps = pixart.load_components(base, DTYPES[cfg.dtype], text_encoder=False)
    if cfg.scheduler != "base":
        import diffusers

        cls = getattr(diffusers, cfg.scheduler, None)
        if cls is None or not hasattr(cls, "from_config"):
            raise ValueError(
                f"scheduler must be 'base' or a diffusers scheduler class, got {cfg.scheduler!r}"
            )
        comps["scheduler"] = cls.from_config(comps["scheduler"].config)
    return pixart.make_pipeline(comps)


def grid_rows(n_rows: int) -> list[int]:
    """At most GRID_ROWS row indices spread evenly from the first row to the last."""
    if n_rows <= GRID_ROWS:
        return list(range(n_rows))
    return sorted({round(i * (n_rows - 1) / (GRID_ROWS - 1)) for i in range(GRID_ROWS)})


def write_grid(path, rows: list[torch.Tensor]) -> None:
    """uint8 [k, 3, H, W] per row -> one PNG:
    each row's images side by side, rows stacked (atomic)."""
    from PIL import Image

    width = max(r.shape[0] for r in rows)
    h, w = rows[0].shape[-2:]
    canvas = np.zeros((len(rows) * h, width * w, 3), dtype=np.uint8)
    for i, r in enumerate(rows):
        for j, im in enumerate(r):
            canvas[i * h : (i + 1) * h, j * w : (j + 1) * w] = im.permute(1, 2, 0).numpy()
    with atomic_path(path) as tmp:
        Image.fromarray(canvas).save(tmp, format="PNG")


@torch.no_grad()
def generate_row(
    pipe,
    cache: PromptCache,
    prompts: list[str],
    cfg: GenerationConfig,
    extractor: Extractor,
    device: torch.device,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Features [n_images, D] of one row's images,
    and its first GRID_COLS images (uint8, native size)."""
    side = pipe.transformer.config.sample_size * pipe.vae_scale_factor
    feats, first = [], []
    for start in range(0, cfg.n_images, cfg.batch_size):
        js = list(range(start, min(start + cfg.batch_size, cfg.n_images)))
        e, m = cache.lookup([prompts[j % len(prompts)] for j in js])
        ne, nm = cache.unconditional(len(js))
        images = pipe(
            prompt=None,
            negative_prompt=None,
            prompt_embeds=e.to(device),
            prompt_attention_mask=m.to(device),
            negative_prompt_embeds=ne.contiguous().to(device),
            negative_prompt_attention_mask=nm.contiguous().to(device),
            num_inference_steps=cfg.steps,
            guidance_scale=cfg.guidance_scale,
            output_type="pt",
            use_resolution_binning=False,
            height=side,
            width=side,
            generator=[image_generator(cfg.seed, j) for j in js],
        ).images
        images = to_uint8(images)
        if sum(len(f) for f in first) < GRID_COLS:
            first.append(images[: GRID_COLS - sum(len(f) for f in first)])
        feats.append(extractor.extract(resize_and_crop(images, cfg.resolution), cfg.batch_size))
    return torch.cat(feats), torch.cat(first)


def generate(
    base: str,
    cache_path: str,
    split_path: str,
    cfg: GenerationConfig,
    extractor: Extractor,
    pset: ParamSet | None = None,
    lora: pixart.LoraSpec | None = None,
    params_path: str | None = None,
    grid: str | None = None,
    rows: list[int] | None = None,
    row_selection: dict | None = None,
) -> FeatureSet:
    """Features of every row of `pset` (None: the base alone), with the run's record in ``info``.

    `rows` are the rows' indices in the parameter file and `row_selection` how they were chosen
    (``choose_rows``); both are recorded in ``info`` for the score caches.
    """
    split, cache = load_split(split_path), PromptCache.load(cache_path)
    missing = [q for q in split.prompts if q not in cache.prompts]
    if missing:
        raise artifact_error(
            cache_path,
            f"prompt cache without the prompts of {split_path}",
            "every generation prompt of the split file",
            f"no {missing[:3]}",
        )
    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    device = torch.device(
        ("cuda" if torch.cuda.is_available() else "cpu") if cfg.device == "auto" else cfg.device
    )
    pipe = load_pipeline(base, cfg)
    if pset is not None:
        if lora is None:
            raise ValueError(
                f"{params_path}: generating from LoRA rows needs their LoraSpec (rank, alpha)"
            )
        pixart.add_lora(pipe.transformer, lora)
        layout = pixart.lora_layout(pipe.transformer)
        if layout != pset.layout:
            raise artifact_error(
                params_path,
                f"LoRA layout that does not fit base {base} at rank {lora.rank}",
                f"K = {sum(int(np.prod(s)) for _, s in layout)} in {len(layout)} tensors",
                f"K = {pset.k} in {len(pset.layout)} tensors ({pset.describe()})",
            )
    pipe.to(device)
    pipe.set_progress_bar_config(disable=True)
    n_rows = pset.n if pset is not None else 1
    shown, feats, grid_images, seconds = grid_rows(n_rows), [], [], []
    for i in tqdm(range(n_rows), desc=f"generate {split.style}", mininterval=5):
        t0 = time.time()
        if pset is not None:
            pixart.load_lora_state(pipe.transformer, pset.lora_state_dict(i))
        f, first = generate_row(pipe, cache, split.prompts, cfg, extractor, device)
        feats.append(f)
        if i in shown:
            grid_images.append(first)
        seconds.append(round(time.time() - t0, 3))
        log.info("row %d/%d: %d images in %.1fs", i + 1, n_rows, cfg.n_images, seconds[-1])
    if grid:
        write_grid(grid, grid_images)
    info = {
        "kind": "generated",
        **extractor.describe(),
        "resolution": cfg.resolution,
        "n_images": cfg.n_images,
        "style": split.style,
        "split_file": str(split_path),
        "prompts_file": str(cache_path),
        "base": base,
        "params_file": str(params_path) if params_path else None,
        "lora": pset is not None,
        "steps": [int(s) for s in pset.steps] if pset is not None else [0],
        "generation": {
            **asdict(cfg),
            "device": str(device),
            "image_size": pipe.transformer.config.sample_size * pipe.vae_scale_factor,
            "n_prompts": len(split.prompts),
        },
        "seconds_per_row": seconds,
        "grid_rows": shown,
    }
    if pset is not None:
        info.update(rank=lora.rank, alpha=lora.alpha, params_info=pset.info)
        if "soup_of" in pset.info:
            info["soup_of"] = pset.info["soup_of"]
    info["rows"] = list(rows) if rows is not None else list(range(n_rows))
    info["row_selection"] = row_selection or {
        "last": None,
        "soup": None,
        "every": 1,
        "row_from": None,
        "row": None,
        "in_file": n_rows,
        "nolora": pset is None,
    }
    return FeatureSet(torch.stack(feats), info)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_base_style_args(p, lora_required=False)
    arm = p.add_mutually_exclusive_group(required=True)
    arm.add_argument("--params", default=None, help="parameter file whose rows are generated from")
    arm.add_argument("--nolora", action="store_true", help="the base model alone")
    p.add_argument(
        "--every", type=int, default=1, help="every k-th row, counted back from the last"
    )
    p.add_argument("--soup", type=int, default=None, help="one row: the mean of the last N rows")
    p.add_argument(
        "--best-of", default=None, help="one row: the row this selection score cache selects"
    )
    p.add_argument(
        "--row-from", default=None, help="one row: the 'selected_row' of this generated cell"
    )
    add_extractor_args(p, default=DEFAULT_EXTRACTOR, feature_layer=True)
    p.add_argument("--out", required=True, help="features file (.safetensors)")
    p.add_argument("--grid", default=None, help="grid PNG of the first images of up to 8 rows")
    cli.add_dataclass_args(p, GenerationConfig)
    a = p.parse_args(argv)
    cli.setup_logging()
    cfg = cli.dataclass_from_args(GenerationConfig, a)
    pset = lora = None
    if a.nolora:
        used = [
            f
            for f, v in (
                ("--every", a.every != 1),
                ("--soup", a.soup),
                ("--best-of", a.best_of),
                ("--row-from", a.row_from),
            )
            if v
        ]
        if used:
            p.error(
                f"--nolora generates from the base alone: {', '.join(used)} apply to --params only"
            )
        record = {
            "last": None,
            "soup": None,
            "every": 1,
            "row_from": None,
            "row": None,
            "in_file": 1,
            "nolora": True,
        }
        idx = [0]
    else:
        if a.rank is None or a.alpha is None:
            p.error("--params needs --rank and --alpha (the LoRA the rows were trained with)")
        params = ParamSet.load(a.params, {"rank": a.rank}, "image.generation.generate_images")
        pset, idx, record = choose_rows(params, a.params, a.every, a.soup, a.best_of, a.row_from)
        lora = pixart.LoraSpec(rank=a.rank, alpha=a.alpha)
    device = (
        ("cuda" if torch.cuda.is_available() else "cpu") if cfg.device == "auto" else cfg.device
    )
    extractor = Extractor(a.extractor, a.weights_path, a.feature_layer, device)
    fs = generate(
        a.base, a.prompts, a.split, cfg, extractor, pset, lora, a.params, a.grid, idx, record
    )
    fs.save(a.out)
    log.info(
        "%s: features %s, %.2fs per row",
        a.out,
        tuple(fs.features.shape),
        sum(fs.info["seconds_per_row"]) / len(fs.info["seconds_per_row"]),
    )


if __name__ == "__main__":
    main()
