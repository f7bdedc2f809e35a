"""One figure per style: its reference images above the four arms of Table 2,
same prompts and seeds.

Rows, top to bottom: 8 of the style's held-out reference images; the base model alone
(no LoRA); ``original`` (the harvested checkpoint Table 2 reports: the cell's ``best_step``);
the model soup (mean of the last n checkpoints); ``generated`` (the candidate the selection
picked: the cell's ``selected_row``). Each arm's 8 images use the first 8 prompts and noise
seeds of ``generate_images`` (image j: prompt j mod P, seed (seed, j)), so columns match.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import replace

import numpy as np
import torch

from condpdiff.image.args import add_base_style_args
from condpdiff.image.base import pixart
from condpdiff.image.base.prompts import PromptCache
from condpdiff.image.fid.features import resize_and_crop, to_uint8
from condpdiff.image.generation.generate_images import (
    GRID_COLS,
    GenerationConfig,
    generate_row,
    load_pipeline,
)
from condpdiff.image.generation.reseed_arms import reported_states
from condpdiff.image.styles.splitfile import load_split
from condpdiff.params.paramfile import ParamSet
from condpdiff.pipeline.artifacts import CANDIDATES, HARVEST_KINDS, load_json
from condpdiff.util import cli
from condpdiff.util.atomic import atomic_path

log = logging.getLogger("condpdiff.image.generation.render_figure")
LABEL_W = 96


class _NoFeatures:
    """generate_row wants an extractor; the figure keeps images only."""

    def extract(self, images, batch_size=64):
        return torch.zeros(images.shape[0], 1)


def real_images(paths, side: int) -> torch.Tensor:
    from PIL import Image

    ims = [
        torch.from_numpy(np.asarray(Image.open(p).convert("RGB"))).permute(2, 0, 1) for p in paths
    ]
    return resize_and_crop(torch.stack([resize_and_crop(i[None], side)[0] for i in ims]), side)


def compose(rows: list[tuple[str, torch.Tensor]], path) -> None:
    """Labelled rows of uint8 [k, 3, s, s] images -> one PNG (atomic)."""
    from PIL import Image, ImageDraw

    s = rows[0][1].shape[-1]
    scale = max(1, 64 // s)  # small images are shown enlarged (nearest neighbour)
    cell = s * scale
    canvas = Image.new("RGB", (LABEL_W + GRID_COLS * cell, len(rows) * cell), "white")
    draw = ImageDraw.Draw(canvas)
    for i, (label, ims) in enumerate(rows):
        for lineno, part in enumerate(label.split("\n")):
            draw.text((4, i * cell + 4 + 12 * lineno), part, fill="black")
        for j, im in enumerate(ims[:GRID_COLS]):
            tile = Image.fromarray(im.permute(1, 2, 0).numpy()).resize((cell, cell), Image.NEAREST)
            canvas.paste(tile, (LABEL_W + j * cell, i * cell))
    with atomic_path(path) as tmp:
        canvas.save(tmp, format="PNG")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_base_style_args(p)
    p.add_argument("--harvest", required=True)
    p.add_argument("--candidates", required=True)
    p.add_argument(
        "--cells", nargs=4, required=True, metavar=("GENERATED", "ORIGINAL", "SOUP", "NOLORA")
    )
    p.add_argument("--out", required=True, help="figure (.png)")
    cli.add_dataclass_args(p, GenerationConfig)
    a = p.parse_args(argv)
    cli.setup_logging()
    cfg = replace(cli.dataclass_from_args(GenerationConfig, a), n_images=GRID_COLS)
    split, cache = load_split(a.split), PromptCache.load(a.prompts)
    gen_cell, orig_cell, soup_cell, nolora_cell = (
        load_json(c, "table cell", keys=("score",)) for c in a.cells
    )
    want, who = {"task": split.style, "rank": a.rank}, "image.generation.render_figure"
    states = reported_states(
        ParamSet.load(a.harvest, {**want, "kind": HARVEST_KINDS}, who),
        ParamSet.load(a.candidates, {**want, "kind": CANDIDATES}, who),
        {"generated": gen_cell, "original": orig_cell, "soup": soup_cell, "nolora": nolora_cell},
    )
    arms = [
        (f"no LoRA\nFID {nolora_cell['score']:.2f}", states["nolora"][0]),
        (
            f"original\nstep {orig_cell['best_step']}\nFID {orig_cell['score']:.2f}",
            states["original"][0],
        ),
        (f"soup of {soup_cell.get('n')}\nFID {soup_cell['score']:.2f}", states["soup"][0]),
        (
            f"generated\ncand. {gen_cell['selected_row']}\nFID {gen_cell['score']:.2f}",
            states["generated"][0],
        ),
    ]
    torch.set_num_threads(max(cfg.threads, 1))
    device = torch.device("cuda" if torch.cuda.is_available() and cfg.device != "cpu" else "cpu")
    pipe = load_pipeline(a.base, cfg)
    pipe.set_progress_bar_config(disable=True)
    pipe.to(device)
    side = pipe.transformer.config.sample_size * pipe.vae_scale_factor
    rows = [(f"{split.style}\nreference", real_images(split.paths("reference")[:GRID_COLS], side))]
    lora_added = False
    for label, state in arms:
        if state is not None and not lora_added:
            pixart.add_lora(pipe.transformer, pixart.LoraSpec(rank=a.rank, alpha=a.alpha))
            lora_added = True
        if state is not None:
            pixart.load_lora_state(pipe.transformer, state)
        _, first = generate_row(pipe, cache, split.prompts, cfg, _NoFeatures(), device)
        rows.append((label, to_uint8(first.float() / 255) if first.dtype != torch.uint8 else first))
    compose(rows, a.out)
    log.info("%s: figure with %d rows", a.out, len(rows))


if __name__ == "__main__":
    main()
