"""Images: export -> generate from a folder of style images -> LoRA weights in diffusers' format
that load into the tiny PixArt pipeline -> the pipeline's own candidate for the same images and
seed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import FAST, train_pdiff

from condpdiff.cli import main as cli_main
from condpdiff.conditions.condition import Condition
from condpdiff.conditions.image_encoder import ImageEncoderConfig, ResNetFeatures
from condpdiff.generate import export, images
from condpdiff.image.base import pixart as px
from condpdiff.image.styles.encode_condition import read_image
from condpdiff.params.norm_stats import compute
from condpdiff.params.paramfile import ParamSet, flatten

pytestmark = pytest.mark.slow
STYLES, UNSEEN = ["s1", "s2"], "s3"
ENCODER = {"weights": "random", "layer": "layer1", "image_size": "16", "seed": "0"}


@pytest.fixture(scope="module")
def image_generator(tmp_path_factory) -> dict:
    """Tiny base, style images, style harvests in the real LoRA layout,
    a trained conv generator, exported."""
    from PIL import Image

    torch.set_num_threads(1)
    root = Path(tmp_path_factory.mktemp("gen_image"))
    base = root / "base"
    px.build_tiny_pipeline(px.TinyPixArtConfig(), seed=0).save_pretrained(base)
    transformer = px.add_lora(
        px.load_components(str(base), text_encoder=False)["transformer"], px.LoraSpec()
    )
    lora = flatten(px.lora_state_dict(transformer), px.lora_layout(transformer))
    encoder = ResNetFeatures(ImageEncoderConfig(weights="random", layer="layer1", image_size=16))
    rng, g = np.random.default_rng(0), torch.Generator().manual_seed(0)
    harvests, conds, dirs = {}, {}, {}
    for i, style in enumerate([*STYLES, UNSEEN]):
        dirs[style] = root / f"images_{style}"
        dirs[style].mkdir()
        for j in range(3):
            pixels = (rng.random((20, 20, 3)) * 80 + 60 * i).astype("uint8")
            Image.fromarray(pixels).save(dirs[style] / f"{j}.png")
        files = images.image_files(dirs[style], 2)
        conds[style] = str(root / f"{style}.cond.safetensors")
        Condition(
            "resnet18-image",
            torch.cat([encoder([read_image(p)]) for p in files]),
            style,
            encoder.name,
            "3 images",
            "conv",
        ).save(conds[style])
        params = lora + 0.05 * (i - 1) + 0.01 * torch.randn(6, lora.numel(), generator=g)
        info = {
            "kind": "harvest",
            "task": style,
            "domain": "image",
            "base": str(base),
            "rank": 1,
            "alpha": 8,
            "targets": list(px.LORA_TARGETS),
        }
        harvests[style] = str(root / f"{style}.harvest.safetensors")
        ParamSet(
            params, px.lora_layout(transformer), torch.arange(6), torch.rand(6), {}, info
        ).save(harvests[style])
    stats = str(root / "stats.safetensors")
    compute(
        {s: ParamSet.load(harvests[s]) for s in STYLES}, "task", 6, "all", unseen=[UNSEEN]
    ).save(stats)
    hv = [harvests[s] for s in STYLES]
    ae, diff = train_pdiff(stats, hv, STYLES, [conds[s] for s in STYLES], root, 10)
    folder = root / "folder"
    export.export(
        "pdiff",
        [str(ae), str(diff)],
        "ddim10",
        stats,
        hv,
        STYLES,
        [conds[s] for s in STYLES],
        str(folder),
        ENCODER,
        copy_base=True,
    )
    return dict(
        root=root,
        base=str(base),
        folder=str(folder),
        ae=str(ae),
        diff=str(diff),
        stats=stats,
        harvests=harvests,
        conds=conds,
        dirs=dirs,
    )


def generate(m: dict, images_dir, out, *extra: str) -> int:
    """``condpdiff generate`` on the exported image generator: one candidate."""
    argv = [
        "generate",
        m["folder"],
        "--images",
        str(images_dir),
        "--num-candidates",
        "1",
        "--out",
        str(out),
    ]
    return cli_main([*argv, *extra])


def test_generated_lora_loads_into_pixart_and_is_the_pipelines_candidate(
    image_generator, tmp_path, capsys
):
    from condpdiff.generator.pdiff import sample_candidates

    m = image_generator
    out = tmp_path / "lora"
    assert generate(m, m["dirs"][UNSEEN], out, "--seed", "3") == 0
    assert "generating" in capsys.readouterr().out
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["condition"]["files"] == ["0.png", "1.png", "2.png"] and prov["seed"] == 3
    cands = tmp_path / "cands.safetensors"
    sample_candidates.main(
        [
            "--diffusion",
            m["diff"],
            "--autoencoder",
            m["ae"],
            "--stats",
            m["stats"],
            "--harvest",
            m["harvests"][UNSEEN],
            "--condition",
            m["conds"][UNSEEN],
            "--task",
            UNSEEN,
            *"--sampler ddim10 --num-candidates 1 --seed 3".split(),
            "--out",
            str(cands),
            *FAST,
        ]
    )
    want = ParamSet.load(cands).lora_state_dict(0)
    pipe = images.load_into(px.make_pipeline(px.load_components(m["base"])), out)
    got = px.lora_state_dict(pipe.transformer)
    assert set(got) == set(want)
    for name, t in want.items():
        torch.testing.assert_close(got[name], t, rtol=0, atol=1e-6)
    # diffusers' layout: transformer.<peft key>, the LoRA config in the metadata
    state, meta = images.read_adapter(out)
    assert meta["r"] == 1 and meta["lora_alpha"] == 8 and set(state) == set(want)
    image = pipe(
        prompt="a photo",
        num_inference_steps=2,
        height=16,
        width=16,
        output_type="np",
        use_resolution_binning=False,
        generator=torch.Generator().manual_seed(0),
    ).images
    assert np.isfinite(image).all()


def test_too_few_images_and_another_rank(image_generator, tmp_path, capsys):
    m = image_generator
    one = tmp_path / "one"
    one.mkdir()
    (one / "0.png").write_bytes((m["dirs"][UNSEEN] / "0.png").read_bytes())
    assert generate(m, one, tmp_path / "o") == 2
    assert "too few style images" in capsys.readouterr().err and not (tmp_path / "o").exists()
    other = tmp_path / "other"
    px.build_tiny_pipeline(px.TinyPixArtConfig(num_layers=1), seed=0).save_pretrained(other)
    assert generate(m, m["dirs"][UNSEEN], tmp_path / "o", "--base", str(other)) == 2
    assert "another backbone or rank" in capsys.readouterr().err and not (tmp_path / "o").exists()
