"""Image tables: one cell = one file whose path holds every setting it depends on."""

from __future__ import annotations

from pathlib import Path

import yaml
from test_arms_targets import arm_entry  # tests/pipeline is on sys.path (pytest prepend mode)

from condpdiff.pipeline.config import check
from condpdiff.pipeline.image_paths import ImagePaths, eval_part
from condpdiff.pipeline.targets import table_files, table_spec
from condpdiff.text.tasks import get_task

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "workflow/schemas/config.schema.yaml"


def demo() -> dict:
    config = yaml.safe_load((ROOT / "config/image_demo_cpu.yaml").read_text())
    check(config, SCHEMA, get_task)
    return config


def test_eval_part_names_extractor_images_steps_guidance_and_seed():
    config = demo()
    assert eval_part(config) == "style-prediction-100-n100-steps20-g1-seed0"
    assert eval_part(config, 1).endswith("-seed1")


def test_table2_arms_and_the_noise_table_at_another_seed():
    config = demo()
    t2, noise = table_spec(config, "table2"), table_spec(config, "table2_noise")
    styles = list(config["image"]["styles"])
    assert noise["columns"] == ["generated", "original", "soup", "nolora"]
    assert t2["kind"] == "arms" and t2["tasks"] == styles
    generated = arm_entry(t2, "generated", styles[0])["replicates"][0]
    original = arm_entry(t2, "original", styles[0])["replicates"][0]
    assert "/sel100-seed0/generated.json" in generated and "-seed0/" in original
    assert all("-seed1/" in p for p in table_files(noise)) and all(
        "-seed0/" in p for p in table_files(t2)
    )
    # the demo compares two generators: each its own generated-like cells (generated, 3 audit
    # arms, memorisation), original / soup / no-LoRA shared
    assert len(t2["rows"]) == 2 * 13 and len(table_files(t2)) == (2 * 5 + 3) * len(styles)


def test_cross_style_table_diagonal_is_the_generated_cell():
    config = demo()
    spec = table_spec(config, "table2_cross")
    styles = list(config["image"]["styles"])
    diagonal = spec["rows"][0]["cells"][styles[0]]["score"]
    table2 = table_spec(config, "table2")
    assert diagonal == arm_entry(table2, "generated", styles[0])["replicates"][0]
    off = spec["rows"][0]["cells"][styles[1]]["score"]
    assert f"/from-{styles[0]}/cross.json" in off and f"/{styles[1]}/" in off


def test_grid_sits_beside_its_features_file():
    IP = ImagePaths("R", "E")
    f = IP.nolora_features(backbone="b", task="s")
    assert f == "R/image/eval/E/features/b/nolora/s.safetensors"
    assert IP.grid(f) == "R/image/eval/E/grids/b/nolora/s.png"


def test_no_generalisation_files_without_a_pair():
    """A config with an image branch but no style pair (the paper's config.yaml) still parses."""
    from condpdiff.pipeline.config import load_config
    from condpdiff.pipeline.image_targets import generalisation_files
    from condpdiff.text.tasks import get_task

    config = load_config([ROOT / "config/config.yaml"], get_task)
    assert not config["image"]["interpolation"]["pairs"] and generalisation_files(config) == []
