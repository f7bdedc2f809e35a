"""Figures of one style interpolation (``interpolate_styles``' outputs): a strip, the FID curves and
where they cross.

- strip PNG: one row per shown image and arm, one column per l, between a reference image of
  style 1 (left) and of style 2 (right), captioned like the row's prompt where one is; small
  images are shown enlarged (nearest neighbour, as ``render_figure.compose``);
- curve PNG: FID against style 1 and style 2 as l goes from 0 (style 1's LoRA) to 1 (style 2's);
  solid/circles = generated, dashed/squares = original, dash-dot/triangles = soup; dotted lines =
  the base model (no LoRA); x = where the two curves of an arm cross;
- crossing table (Markdown): per arm the crossing l, the FID there and the curves' ends.
"""

from __future__ import annotations

import argparse
import json
import logging

import numpy as np
import torch

from condpdiff.image.interpolation.interpolate_styles import FORMAT, STRIP_FORMAT
from condpdiff.pipeline.artifacts import artifact_error, load_json, open_safetensors
from condpdiff.util import cli
from condpdiff.util.atomic import atomic_path, write_text

log = logging.getLogger("condpdiff.image.interpolation.plot_interpolation")
LABEL_W, HEADER_H, GAP = 104, 30, 8
LINESTYLES = {"generated": "-", "original": "--", "soup": "-."}
MARKERS = {"generated": "o", "original": "s", "soup": "^"}
COLOURS = ("tab:blue", "tab:orange")  # FID to style 1, to style 2


def load_record(path) -> dict:
    return load_json(
        path,
        "interpolation curves",
        FORMAT,
        keys=("styles", "arms", "lambdas", "rows", "crossings", "nolora"),
    )


def load_strip(path, record: dict, record_path) -> tuple[dict, dict]:
    names = ("images", "reference1", "reference2")
    with open_safetensors(path, "interpolation strip", STRIP_FORMAT, names) as (f, meta):
        tensors = {k: f.get_tensor(k) for k in names}
        info = json.loads(meta["info"])
    n_arms, n_lambdas, k = tensors["images"].shape[:3]
    if (info["arms"], info["lambdas"]) != (record["arms"], record["lambdas"]) or (
        n_arms,
        n_lambdas,
    ) != (
        len(info["arms"]),
        len(info["lambdas"]),
    ):
        raise artifact_error(
            path,
            f"strip of another run than {record_path}",
            f"arms {record['arms']} x {len(record['lambdas'])} l values",
            f"arms {info['arms']} x {len(info['lambdas'])} l values, images {n_arms} x {n_lambdas}",
        )
    if tensors["reference1"].shape[0] != k or tensors["reference2"].shape[0] != k:
        raise artifact_error(
            path,
            "strip with a reference image count unlike its image count",
            f"{k} per style",
            f"{tensors['reference1'].shape[0]} and {tensors['reference2'].shape[0]}",
        )
    return tensors, info


def curves(record: dict, arm: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows = sorted((r for r in record["rows"] if r["arm"] == arm), key=lambda r: r["lambda"])
    return tuple(
        np.array([r[key] for r in rows], dtype=float)
        for key in ("lambda", "fid_style1", "fid_style2")
    )


def strip_png(tensors: dict, info: dict, path) -> None:
    """Header (style 1 reference | l values | style 2 reference),
    then a row per shown image and arm."""
    from PIL import Image, ImageDraw

    images = tensors["images"]  # uint8 [arms, l values, k, 3, s, s]
    n_arms, n_l, k, _, s, _ = images.shape
    cell = s * max(1, 64 // s)
    styles, prompts = info["styles"], info["prompts"]
    x_ref2 = LABEL_W + cell + GAP + n_l * cell + GAP
    width, height = x_ref2 + cell, HEADER_H + k * n_arms * cell + (k - 1) * GAP
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    columns = (
        [(LABEL_W, f"{styles[0]}\nreference")]
        + [
            (LABEL_W + cell + GAP + i * cell, f"l={lam:.2g}")
            for i, lam in enumerate(info["lambdas"])
        ]
        + [(x_ref2, f"{styles[1]}\nreference")]
    )
    for x, text in columns:
        draw.multiline_text((x + 2, 2), text, fill="black", spacing=2)

    def paste(im: torch.Tensor, x: int, y: int) -> None:
        tile = Image.fromarray(im.permute(1, 2, 0).numpy()).resize((cell, cell), Image.NEAREST)
        canvas.paste(tile, (x, y))

    for g in range(k):
        for a, arm in enumerate(info["arms"]):
            y = HEADER_H + (g * n_arms + a) * cell + g * GAP
            prompt = prompts[g] if len(prompts[g]) <= 14 else prompts[g][:13] + "."
            draw.multiline_text(
                (4, y + 4), f"{arm}\nimage {info['images'][g]}\n'{prompt}'", fill="black", spacing=2
            )
            paste(tensors["reference1"][g], LABEL_W, y)
            for i in range(n_l):
                paste(images[a, i, g], LABEL_W + cell + GAP + i * cell, y)
            paste(tensors["reference2"][g], x_ref2, y)
    with atomic_path(path) as tmp:
        canvas.save(tmp, format="PNG")


def curve_png(record: dict, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s1, s2 = record["styles"]
    fig, ax = plt.subplots(figsize=(7.0, 4.4), dpi=120)
    for arm in record["arms"]:
        lam, f1, f2 = curves(record, arm)
        for y, colour, style in ((f1, COLOURS[0], s1), (f2, COLOURS[1], s2)):
            ax.plot(
                lam,
                y,
                LINESTYLES[arm],
                color=colour,
                marker=MARKERS[arm],
                ms=3.5,
                label=f"{arm}: FID to {style}",
            )
        for x in record["crossings"][arm]:
            ax.plot([x], [np.interp(x, lam, f1)], marker="x", color="black", ms=8, mew=2)
    own = "" if record["nolora"]["same_prompts"] else f" ({s2}'s prompts)"
    ax.axhline(
        record["nolora"]["fid_style1"],
        color=COLOURS[0],
        ls=":",
        lw=1.2,
        label=f"no LoRA: FID to {s1}",
    )
    ax.axhline(
        record["nolora"]["fid_style2"],
        color=COLOURS[1],
        ls=":",
        lw=1.2,
        label=f"no LoRA: FID to {s2}{own}",
    )
    g = record.get("generation", {})
    ax.set_title(
        f"theta(l) = (1 - l) theta_{s1} + l theta_{s2}\n{g.get('n_images')} images per point,"
        f" FID features {record.get('extractor')}; x = crossing",
        fontsize=9,
    )
    ax.set_xlabel(f"l  (0 = {s1}'s LoRA, 1 = {s2}'s LoRA)")
    ax.set_ylabel("FID to the style's reference images (lower = closer)")
    ax.set_xlim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), handlelength=4)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", bbox_inches="tight")
    plt.close(fig)


def crossing_md(record: dict) -> str:
    s1, s2 = record["styles"]
    g = record.get("generation", {})
    lines = [
        f"## Interpolation {s1} -> {s2}: where FID to {s1} = FID to {s2}",
        "",
        f"{record.get('formula', '')}; l in {len(record['lambdas'])} steps from 0 to 1; "
        f"{g.get('n_images')} images per point (Table 2's prompts and seeds), FID features "
        f"{record.get('extractor')}. No LoRA: FID to {s1} {record['nolora']['fid_style1']:.2f}, to "
        f"{s2} {record['nolora']['fid_style2']:.2f}.",
        "",
        f"| arm | crossing l | FID there | to {s1} at l=0 | to {s2} at l=0 | to {s1} at l=1 | to "
        f"{s2} at l=1 |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for arm in record["arms"]:
        lam, f1, f2 = curves(record, arm)
        xs = record["crossings"][arm]
        where = ", ".join(f"{x:.3f}" for x in xs) or "none"
        there = ", ".join(f"{np.interp(x, lam, f1):.2f}" for x in xs) or "-"
        lines.append(
            f"| {arm} | {where} | {there} | {f1[0]:.2f} | {f2[0]:.2f} | {f1[-1]:.2f} | "
            f"{f2[-1]:.2f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--curves", required=True, help="interpolate_styles' curves (.json)")
    p.add_argument("--strip", required=True, help="interpolate_styles' strip images (.safetensors)")
    p.add_argument("--strip-png", required=True)
    p.add_argument("--curve-png", required=True)
    p.add_argument("--crossing", required=True, help="crossing table (.md)")
    a = p.parse_args(argv)
    cli.setup_logging()
    record = load_record(a.curves)
    tensors, info = load_strip(a.strip, record, a.curves)
    strip_png(tensors, info, a.strip_png)
    curve_png(record, a.curve_png)
    write_text(a.crossing, crossing_md(record))
    log.info("%s, %s, %s written", a.strip_png, a.curve_png, a.crossing)


if __name__ == "__main__":
    main()
