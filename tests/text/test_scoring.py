"""Scoring through the in-place cache equals scoring a freshly built peft model; soups;
heads; CLI; adapters."""

from __future__ import annotations

import json

import pytest
import torch

from condpdiff.text import backbone as bb
from condpdiff.text import data
from condpdiff.text import inference as evaluation
from condpdiff.text.score import Scorer, ScoringConfig, load_splits, score_file, soup, zero_lora
from condpdiff.text.tasks import task_to_dict

TARGETS = ["query", "key", "value"]
CFG = ScoringConfig(selection_examples=40, selection_seed=1, batch_size=16, max_length=32)


@pytest.fixture(scope="module")
def splits(sentiment_task, synthetic_glue):
    return load_splits(sentiment_task, "local", synthetic_glue, CFG)


@pytest.fixture(scope="module")
def scorer(tiny_backbone, sentiment_task, splits):
    return Scorer(tiny_backbone, sentiment_task, 1, 8, TARGETS, splits, CFG, device="cpu")


def fresh_scores(tiny_backbone, task, splits, lora, head):
    """The reference: a new base model, a new peft wrapper, set_peft_model_state_dict, evaluate."""
    from peft import set_peft_model_state_dict

    tok = bb.load_tokenizer(tiny_backbone)
    model = bb.wrap_lora(
        bb.load_base_model(tiny_backbone, task.num_labels, seed=123), 1, 8, TARGETS
    )
    set_peft_model_state_dict(model, {**lora, **head})
    model.eval()
    return {
        s: evaluation.evaluate(
            model, tok, evaluation.encode(tok, ex, CFG.max_length), task, CFG.batch_size
        )
        for s, ex in splits.items()
    }


def test_selection_split_is_seeded_train_subset(sentiment_task, synthetic_glue, splits):
    train = data.load_split(sentiment_task, "train", "local", synthetic_glue)
    assert len(splits["selection"]) == 40 < len(train)
    assert set(splits["selection"].texts) <= set(train.texts)
    again = load_splits(sentiment_task, "local", synthetic_glue, CFG)
    assert again["selection"].texts == splits["selection"].texts
    assert len(splits["dev"]) == 32


def test_heldout_selection_excludes_the_fine_tuning_examples(sentiment_task, synthetic_glue):
    """selection_from heldout: drawn only from what fine-tuning's own cap
    (same code, same seed) left out."""
    from dataclasses import replace

    train = data.load_split(sentiment_task, "train", "local", synthetic_glue)
    summary = {"config": {"max_train_examples": 48, "seed": 42}}
    used = data.cap(train, 48, 42)  # what condpdiff.text.finetune_lora trains on
    cfg = replace(CFG, selection_from="heldout", selection_examples=10)
    sel = load_splits(sentiment_task, "local", synthetic_glue, cfg, ["selection"], summary)[
        "selection"
    ]
    assert len(sel) == 10
    rest = data.held_out(train, 48, 42)
    assert len(rest) == 16 and len(used) + len(rest) == len(train)
    used_ids = set(data.cap_indices(len(train), 48, 42))
    rest_ids = [i for i in range(len(train)) if i not in used_ids]
    assert [train.texts[i] for i in rest_ids] == rest.texts
    assert set(sel.texts) <= set(rest.texts)
    # more than what is left: all of the held-out examples
    cfg_all = replace(cfg, selection_examples=1000)
    assert (
        load_splits(sentiment_task, "local", synthetic_glue, cfg_all, ["selection"], summary)[
            "selection"
        ].texts
        == rest.texts
    )


def test_heldout_selection_errors_name_the_cause(sentiment_task, synthetic_glue):
    from dataclasses import replace

    cfg = replace(CFG, selection_from="heldout")
    with pytest.raises(ValueError, match="needs the fine-tuning summary"):
        load_splits(sentiment_task, "local", synthetic_glue, cfg, ["selection"])
    with pytest.raises(ValueError, match="fine-tuning used all 64 training examples"):
        load_splits(
            sentiment_task,
            "local",
            synthetic_glue,
            cfg,
            ["selection"],
            {"config": {"max_train_examples": None, "seed": 1}},
        )
    with pytest.raises(ValueError, match="selection_from must be one of"):
        load_splits(
            sentiment_task,
            "local",
            synthetic_glue,
            replace(CFG, selection_from="dev"),
            ["selection"],
        )


def test_cache_equals_fresh_peft_model(
    scorer, random_paramset, tiny_backbone, sentiment_task, splits
):
    pset = random_paramset(n=4, seed=3)
    cache = score_file(scorer, pset, "mem")
    assert cache["n_rows"] == 4 and set(cache["scores"]) == {"selection", "dev"}
    for i in range(pset.n):
        ref = fresh_scores(
            tiny_backbone, sentiment_task, splits, pset.lora_state_dict(i), pset.head_state_dict(i)
        )
        for s in ("selection", "dev"):
            assert cache["scores"][s][i] == ref[s], (i, s)


def test_in_place_loading_leaves_no_state(scorer, random_paramset):
    pset = random_paramset(n=3, seed=5)
    forward = scorer.score_paramset(pset)
    backward = scorer.score_paramset(pset.select([2, 1, 0]))
    assert forward["dev"] == backward["dev"][::-1]
    assert forward["selection"] == backward["selection"][::-1]


def test_logits_match_fresh_model_exactly(scorer, random_paramset, tiny_backbone, sentiment_task):
    from peft import set_peft_model_state_dict

    pset = random_paramset(n=2, seed=7)
    scorer.score(pset.lora_state_dict(1), pset.head_state_dict(1))
    enc = scorer.encoded["dev"]
    ours = evaluation.predict(
        scorer.model, scorer.tokenizer, enc, CFG.batch_size, padded=scorer.padded["dev"]
    )
    model = bb.wrap_lora(bb.load_base_model(tiny_backbone, 2), 1, 8, TARGETS)
    set_peft_model_state_dict(model, {**pset.lora_state_dict(1), **pset.head_state_dict(1)})
    ref = evaluation.predict(model, scorer.tokenizer, enc, CFG.batch_size)
    assert torch.equal(torch.from_numpy(ours), torch.from_numpy(ref))


def test_soup_is_the_mean(random_paramset):
    pset = random_paramset(n=5, seed=11)
    s = soup(pset, 3)
    assert s.n == 1
    torch.testing.assert_close(s.params[0], pset.params[2:].mean(0))
    for k, v in pset.heads.items():
        torch.testing.assert_close(s.heads[k][0], v[2:].mean(0))
    torch.testing.assert_close(soup(pset).params[0], pset.params.mean(0))


def test_zero_lora_is_the_base_model_with_the_last_head(scorer, random_paramset):
    """No LoRA (table_unseen): every LoRA weight zero, the last row's head;
    scores as the unwrapped base would."""
    pset = random_paramset(n=4, seed=5)
    z = zero_lora(pset)
    assert z.n == 1 and torch.count_nonzero(z.params) == 0 and z.info["kind"] == "nolora"
    for k, v in pset.heads.items():
        torch.testing.assert_close(z.heads[k][0], v[-1])
    cache = score_file(scorer, z, "mem", head_mode="file", harvest=None)
    assert (
        cache["scores"]["dev"][0]
        == scorer.score(z.lora_state_dict(0), pset.head_state_dict(3))["dev"]
    )


def test_head_last_checkpoint_overrides_row_heads(scorer, random_paramset):
    cands, harvest = random_paramset(n=2, seed=13), random_paramset(n=3, seed=17)
    cache = score_file(scorer, cands, "mem", head_mode="last_checkpoint", harvest=harvest)
    ref = scorer.score(cands.lora_state_dict(1), harvest.head_state_dict(2))
    assert cache["scores"]["dev"][1] == ref["dev"] and cache["head"] == "last_checkpoint"
    with pytest.raises(ValueError):
        score_file(scorer, cands, "mem", head_mode="last_checkpoint")


def test_cli_and_cells(tmp_path, tiny_backbone, sentiment_task, synthetic_glue, random_paramset):
    from condpdiff.evaluate import cells
    from condpdiff.text import score
    from condpdiff.util.atomic import write_json

    task_file, params = tmp_path / "task.json", tmp_path / "cands.safetensors"
    write_json(task_file, task_to_dict(sentiment_task))
    random_paramset(n=3, seed=19).save(params)
    common = [
        "--model", tiny_backbone, "--task-file", str(task_file), "--data-source", "local",
        "--glue-dir", str(synthetic_glue), "--rank", "1", "--alpha", "8",
        "--target-modules", *TARGETS,
        "--params", str(params), "--selection-examples", "40", "--batch-size", "16",
        "--max-length", "32",
    ]  # fmt: skip
    score.main([*common, "--out", str(tmp_path / "scores.json")])
    cache = json.loads((tmp_path / "scores.json").read_text())
    assert cache["format"] == "condpdiff-scores/1" and len(cache["scores"]["dev"]) == 3
    assert cache["metric"] == "accuracy" and cache["higher_is_better"] is True
    assert cache["splits"]["selection"]["n_examples"] == 40
    cells.main(
        [
            "generated",
            "--scores",
            str(tmp_path / "scores.json"),
            "--out",
            str(tmp_path / "gen.json"),
        ]
    )
    cell = json.loads((tmp_path / "gen.json").read_text())
    assert cell["score"] == cache["scores"]["dev"][cell["selected_row"]]["score"]

    score.main(
        [*common, "--splits", "dev", "--soup", "2", "--out", str(tmp_path / "soup_scores.json")]
    )
    cells.main(
        [
            "soup",
            "--scores",
            str(tmp_path / "soup_scores.json"),
            "--out",
            str(tmp_path / "soup.json"),
        ]
    )
    soup_cell = json.loads((tmp_path / "soup.json").read_text())
    assert soup_cell["kind"] == "soup" and soup_cell["n"] == 2

    # cross-task: the selected row alone, scored again on dev, gives the generated cell's dev score
    score.main(
        [
            *common,
            "--splits",
            "dev",
            "--row-from",
            str(tmp_path / "gen.json"),
            "--out",
            str(tmp_path / "x.json"),
        ]
    )
    cells.main(
        ["cross", "--scores", str(tmp_path / "x.json"), "--out", str(tmp_path / "cross.json")]
    )
    cross = json.loads((tmp_path / "cross.json").read_text())
    assert cross["selected_row"] == cell["selected_row"] and cross["score"] == pytest.approx(
        cell["score"]
    )

    # the default workflow: dev for the row best on the selection split only (--best-of),
    # then the cell
    score.main(
        [
            *common,
            "--splits",
            "dev",
            "--best-of",
            str(tmp_path / "scores.json"),
            "--out",
            str(tmp_path / "best.json"),
        ]
    )
    best = json.loads((tmp_path / "best.json").read_text())
    assert best["n_rows"] == 1 and best["rows"]["row"] == cell["selected_row"]
    cells.main(
        ["generated", "--scores", str(tmp_path / "best.json"),
         "--selection", str(tmp_path / "scores.json"), "--out", str(tmp_path / "gen_best.json")]
    )  # fmt: skip
    gen_best = json.loads((tmp_path / "gen_best.json").read_text())
    assert (gen_best["score"], gen_best["selected_row"]) == (cell["score"], cell["selected_row"])

    # selection by successive halving: first 10 of the 40 selection examples, then 20, then 40
    score.main(
        [*common, "--splits", "selection", "--race", "10", "--out", str(tmp_path / "race.json")]
    )
    raced = json.loads((tmp_path / "race.json").read_text())
    rounds = raced["race"]["rounds"]
    assert [r["examples"] for r in rounds] == [10, 20] and [len(r["alive"]) for r in rounds] == [
        3,
        2,
    ]
    assert (
        raced["race"]["example_evaluations"]
        == 10 + 20 + 20
        < raced["race"]["full_split_evaluations"]
        == 120
    )
    assert sorted(row["n_examples"] for row in raced["scores"]["selection"]) == [10, 20, 20]
    winner = raced["race"]["winner"]
    assert winner in rounds[1]["alive"] and raced["scores"]["selection"][winner]["n_examples"] == 20
    # a first slice as large as the split is one round over all of it:
    # the same scores as scoring every row
    score.main(
        [*common, "--splits", "selection", "--race", "40", "--out", str(tmp_path / "race40.json")]
    )
    one_round = json.loads((tmp_path / "race40.json").read_text())
    assert [r["score"] for r in one_round["scores"]["selection"]] == pytest.approx(
        [r["score"] for r in cache["scores"]["selection"]]
    )
    assert one_round["race"]["winner"] == cells.best_index(
        [r["score"] for r in cache["scores"]["selection"]]
    )
    cells.main(
        ["generated", "--scores", str(tmp_path / "scores.json"),
         "--selection", str(tmp_path / "race.json"), "--out", str(tmp_path / "gen_race.json")]
    )  # fmt: skip
    gen_race = json.loads((tmp_path / "gen_race.json").read_text())
    assert gen_race["selected_row"] == winner and gen_race["selection_race"] == 10
    assert gen_race["score"] == cache["scores"]["dev"][winner]["score"]

    # every k-th row counted back from the last one
    score.main([*common, "--splits", "dev", "--every", "2", "--out", str(tmp_path / "every.json")])
    every = json.loads((tmp_path / "every.json").read_text())
    assert (
        every["steps"] == [cache["steps"][0], cache["steps"][2]] and every["rows"]["in_file"] == 3
    )
    assert every["scores"]["dev"][1] == cache["scores"]["dev"][2]

    # selection on the training examples fine-tuning left out: recorded in the cache and the cell
    summary = tmp_path / "summary.json"
    write_json(summary, {"config": {"max_train_examples": 48, "seed": 42}})
    held = [
        *common,
        "--splits",
        "selection",
        "--selection-from",
        "heldout",
        "--finetune-summary",
        str(summary),
    ]
    score.main([*held, "--out", str(tmp_path / "held.json")])
    held_cache = json.loads((tmp_path / "held.json").read_text())
    assert held_cache["splits"]["selection"] == {
        "n_examples": 16,
        "from": "train",
        "seed": 0,
        "pool": "heldout",
    }
    cells.main(
        ["generated", "--scores", str(tmp_path / "scores.json"),
         "--selection", str(tmp_path / "held.json"), "--out", str(tmp_path / "gen_held.json")]
    )  # fmt: skip
    assert json.loads((tmp_path / "gen_held.json").read_text())["selection_from"] == "heldout"
    write_json(summary, {"config": {"max_train_examples": None, "seed": 42}})
    with pytest.raises(
        SystemExit, match="summary.json: task syn_sentiment: .* fine-tuning used all 64"
    ):
        score.main([*held, "--out", str(tmp_path / "never.json")])
    assert not (tmp_path / "never.json").exists()


def test_exported_adapter_loads_with_peft(
    tmp_path, tiny_backbone, sentiment_task, scorer, random_paramset
):
    from peft import PeftModel

    from condpdiff.text.export_adapter import export

    pset = random_paramset(n=2, seed=23)
    lora, head = pset.lora_state_dict(1), pset.head_state_dict(1)
    export(
        tiny_backbone,
        2,
        1,
        8,
        TARGETS,
        lora,
        head,
        tmp_path / "out",
        merge_full_model=True,
        info={"row": 1},
    )
    expected = scorer.score(lora, head)["dev"]
    base = bb.load_base_model(
        tiny_backbone, 2, seed=999
    )  # a different random head: the adapter must bring its own
    model = PeftModel.from_pretrained(base, tmp_path / "out" / "adapter").eval()
    tok = bb.load_tokenizer(str(tmp_path / "out" / "adapter"))
    enc = scorer.encoded["dev"]
    assert evaluation.evaluate(model, tok, enc, sentiment_task, CFG.batch_size) == expected
    merged = bb.load_base_model(str(tmp_path / "out" / "merged"), 2, seed=999).eval()
    got = evaluation.evaluate(merged, tok, enc, sentiment_task, CFG.batch_size)
    assert got["score"] == pytest.approx(expected["score"], abs=1e-6)
    assert json.loads((tmp_path / "out" / "selection.json").read_text())["row"] == 1
