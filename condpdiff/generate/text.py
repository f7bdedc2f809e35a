"""Text side of ``condpdiff generate``: labelled examples (a GLUE-layout TSV) -> a PEFT adapter
folder.

The examples file has a header: ``sentence<TAB>label`` or ``sentence1<TAB>sentence2<TAB>label``
(``score`` for ``label`` in a regression task). Its labels must be classes of one of the label
sets the generator was trained on (``--num-labels`` picks one where it has several). The condition
is computed the way the generator's training conditions were (``config.json: condition``); the
candidates are scored on the examples with the project's scorer (head fitted on the examples for
each, encoder and LoRA frozen) and the best is written with ``text.export_adapter.export``.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import torch

from condpdiff.generate.folder import one_hot
from condpdiff.params.paramfile import layout_of, unflatten
from condpdiff.text import backbone as bb
from condpdiff.text import data
from condpdiff.text import inference as evaluation
from condpdiff.text.tasks import Task, TsvLayout

log = logging.getLogger("condpdiff.generate.text")

LAYOUTS = (
    ("sentence", "label"),
    ("sentence1", "sentence2", "label"),
    ("sentence", "score"),
    ("sentence1", "sentence2", "score"),
)
MIN_HEAD_EXAMPLES = 2  # per class: fewer and the head stays the seeded fresh one


class ConditionInputError(ValueError):
    """The user's condition (examples, description, task) does not fit the generator."""


def label_sets(cfg: dict) -> list[int]:
    return sorted({int(t["num_labels"]) for t in cfg["tasks"]})


def make_task(
    cfg: dict, path: str | Path, num_labels: int | None, name: str, description: str
) -> Task:
    """A Task for the examples file: its header fixes the columns, the generator the label set."""
    path = Path(path)
    if not path.is_file():
        raise ConditionInputError(
            f"{path}: examples file not found; expected a TSV in the GLUE layout"
        )
    try:
        first = path.read_text(encoding="utf-8").splitlines()[:1]
    except UnicodeDecodeError:
        first = None  # read_glue_tsv names the byte
    header = tuple(h.strip() for h in first[0].split("\t")) if first else ()
    if first is not None and header not in LAYOUTS:
        raise ConditionInputError(
            f"{path}:1: header {list(header)}; expected the columns of one of "
            f"{[list(x) for x in LAYOUTS]} (tab-separated)"
        )
    sets = label_sets(cfg)
    if num_labels is None:
        if len(sets) != 1:
            raise ConditionInputError(
                f"the generator was trained on tasks of {sets} labels (1 = regression): "
                f"give --num-labels"
            )
        num_labels = sets[0]
    if num_labels not in sets:
        raise ConditionInputError(
            f"--num-labels {num_labels}: not a label set of this generator; expected one "
            f"of {sets} (1 = regression)"
        )
    header = header or LAYOUTS[0]
    layout = TsvLayout(text_columns=header[:-1], label_column=header[-1], columns=header)
    return Task(
        name=name,
        num_labels=num_labels,
        metric="pearson" if num_labels == 1 else "accuracy",
        description=description,
        glue_dir=None,
        tsv=layout,
    )


def read_examples(path: str | Path, task: Task) -> data.Examples:
    """The labelled examples; bad rows, encodings and labels are errors naming file and line."""
    try:
        return data.read_glue_tsv(path, task)
    except ValueError as e:
        raise ConditionInputError(str(e)) from None


def shown(texts: tuple[str, ...]) -> str:
    if len(texts) == 1:
        return f"Sentence: {texts[0]}"
    return " ".join(f"Sentence {i + 1}: {t}" for i, t in enumerate(texts))


def condition(
    gen, task: Task, examples: data.Examples | None, known: str | None, device: str
) -> torch.Tensor:
    """The condition embedding for the user's task, made as the generator's training ones were."""
    c = gen.config["condition"]
    if known is not None:
        return gen.conditions[known]
    if one_hot(c):
        raise ConditionInputError(
            f"this generator's condition {c['name']!r} is a one-hot of its training tasks "
            f"{gen.stats.tasks}: it cannot take a new task; pass --task NAME of one of them"
        )
    settings = c.get("settings", {})
    if c["projection"] == "set":
        from condpdiff.text.encode_data_condition import DataConditionConfig, encode

        if examples is None or len(examples) == 0:
            raise ConditionInputError(
                f"condition {c['name']!r} is made from labelled examples: give --examples"
            )
        cfg = _config(DataConditionConfig, settings, examples=len(examples), device=device)
        return encode(task, examples, cfg, c["name"]).embedding
    from condpdiff.text.encode_condition import ConditionConfig, encode

    variant = c["name"].split("-", 1)[-1]
    if not task.description:
        raise ConditionInputError(
            f"condition {c['name']!r} embeds the task description: give --description TEXT"
        )
    if variant == "twoshot":
        if examples is None or len(examples) < 2:
            raise ConditionInputError(
                f"condition {c['name']!r} embeds two worked examples: give --examples "
                "with at least two rows"
            )
        shots = tuple((shown(examples.texts[i]), str(examples.labels[i])) for i in range(2))
        task = dataclasses.replace(task, examples=shots)
    return encode(
        c["name"], task, None, _config(ConditionConfig, settings, device=device)
    ).embedding


def _config(cls, settings: dict, **fixed):
    """A dataclass of `cls` from the recorded encoder settings (strings) and `fixed` values."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    values = {
        k: type(fields[k].default)(v) for k, v in settings.items() if k in fields and k not in fixed
    }
    return cls(**values, **fixed)


def train_steps(
    model,
    tokenizer,
    examples: data.Examples,
    task: Task,
    groups: list[dict],
    steps: int,
    seed: int,
    batch_size: int = 16,
    max_length: int = 128,
) -> list[float]:
    """`steps` AdamW steps on `examples` over the parameter `groups`; returns the losses."""
    from condpdiff.text.finetune_lora import FinetuneConfig, epoch_order

    enc = evaluation.encode(tokenizer, examples, max_length, sort_by_length=False)
    device = next(model.parameters()).device
    optim = torch.optim.AdamW(groups)
    gen = torch.Generator().manual_seed(seed)
    cfg = FinetuneConfig(batch_size=batch_size, seed=seed)
    losses, order = [], []
    model.train()
    while len(losses) < steps:
        if not order:
            order = epoch_order(enc, cfg, gen)
        idx, order = order[:batch_size], order[batch_size:]
        batch = {
            k: v.to(device)
            for k, v in tokenizer.pad([enc.features[i] for i in idx], return_tensors="pt").items()
        }
        labels = torch.tensor([examples.labels[i] for i in idx], device=device)
        loss = model(**batch, labels=labels.float() if task.is_regression else labels.long()).loss
        optim.zero_grad(set_to_none=True)
        loss.backward()
        optim.step()
        losses.append(loss.item())
    model.eval()
    return losses


def can_fit_head(task: Task, examples: data.Examples | None) -> bool:
    if examples is None or len(examples) < MIN_HEAD_EXAMPLES:
        return False
    if task.is_regression:
        return True
    counts = [examples.labels.count(c) for c in range(task.num_labels)]
    return min(counts) >= MIN_HEAD_EXAMPLES


def head_module(model, head: dict):
    """The module holding the task head (peft's ``modules_to_save`` copy): the common prefix of its
    keys."""
    parts = [k.split(".")[:-1] for k in head]
    prefix = []
    for level in zip(*parts):
        if len(set(level)) != 1:
            break
        prefix.append(level[0])
    return model.get_submodule(".".join(prefix))


def fit_head(
    model, tokenizer, enc, task: Task, head: dict, steps: int, seed: int, lr: float = 1e-2
) -> dict:
    """The classifier head trained on the examples with encoder and LoRA frozen: their features (the
    head's input) are computed once, then `steps` full-batch AdamW steps train the head alone."""
    module = head_module(model, head)
    feats = []
    hook = module.register_forward_hook(lambda m, inputs, output: feats.append(inputs[0].detach()))
    try:
        evaluation.predict(model, tokenizer, enc)
    finally:
        hook.remove()
    x = torch.cat(feats)
    y = torch.as_tensor(enc.labels[enc.order], device=x.device)  # features come in the sorted order
    y = y.float() if task.is_regression else y.long()
    params = [p for p in module.parameters() if p.requires_grad]
    torch.manual_seed(seed)
    optim = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    for _ in range(steps):
        out = module(x)
        out = out.squeeze(-1) if task.is_regression else out
        loss = (
            torch.nn.functional.mse_loss(out, y)
            if task.is_regression
            else torch.nn.functional.cross_entropy(out, y)
        )
        optim.zero_grad(set_to_none=True)
        loss.backward()
        optim.step()
    return {k: v.detach().clone() for k, v in bb.split_state_dict(model)[1].items()}


def generate_adapter(
    gen,
    vectors: torch.Tensor,
    task: Task,
    examples,
    base: str,
    out: Path,
    opts,
    info: dict,
    known: str | None,
) -> dict:
    """Pick a candidate on the examples (head fitted per candidate), optionally fine-tune it, write
    it."""
    from condpdiff.text.export_adapter import export
    from condpdiff.text.finetune_lora import FinetuneConfig, param_groups

    lora_cfg = gen.config["lora"]
    tokenizer = bb.load_tokenizer(base)
    model = bb.wrap_lora(
        bb.load_base_model(base, task.num_labels, seed=opts.seed),
        lora_cfg["rank"],
        lora_cfg["alpha"],
        lora_cfg["target_modules"],
        dropout=0.0,
    ).to(opts.device)
    lora0, head0 = bb.split_state_dict(model)
    head0 = {k: v.detach().clone() for k, v in head0.items()}
    if layout_of(lora0) != gen.layout:
        raise ValueError(
            f"{base}: the base model's LoRA layout ({len(lora0)} tensors, rank {lora_cfg['rank']}) "
            f"differs from the generator's ({len(gen.layout)} tensors, K {lora_cfg['k']}): a "
            "generator for another backbone or rank"
        )
    head_source = f"untrained (seed {opts.seed}): too few examples per class to fit one"
    if known is not None and known in gen.heads and not examples:
        head0, head_source = gen.heads[known], f"the last checkpoint of training task {known!r}"
    fit = can_fit_head(task, examples)
    enc = evaluation.encode(tokenizer, examples, 128) if examples else None
    scores, heads = [], []
    for i in range(vectors.shape[0]):
        bb.load_weights(model, unflatten(vectors[i], gen.layout), head0)
        heads.append(
            fit_head(model, tokenizer, enc, task, head0, opts.head_steps, opts.seed)
            if fit
            else head0
        )
        if enc is not None:
            scores.append(evaluation.evaluate(model, tokenizer, enc, task)["score"])
    best = max(range(len(scores)), key=scores.__getitem__) if scores else 0
    if any(s != s for s in scores):
        raise ValueError(
            f"a candidate scored NaN on the examples {info['condition'].get('examples')}: {scores}"
        )
    lora, head = unflatten(vectors[best], gen.layout), heads[best]
    record = {
        "selected": best,
        "selection_scores": scores,
        "head": "fitted on the examples" if fit else head_source,
        "finetune_steps": opts.finetune_steps,
    }
    if opts.finetune_steps:
        if not examples:
            raise ConditionInputError("--finetune-steps needs --examples to fine-tune on")
        bb.load_weights(model, lora, head)
        cfg = FinetuneConfig(lr=opts.finetune_lr, head_lr=None)
        record["finetune_losses"] = train_steps(
            model,
            tokenizer,
            examples,
            task,
            param_groups(model, cfg),
            opts.finetune_steps,
            opts.seed,
        )
        lora, head = bb.split_state_dict(model)
    export(
        base,
        task.num_labels,
        lora_cfg["rank"],
        lora_cfg["alpha"],
        lora_cfg["target_modules"],
        lora,
        head,
        out,
        False,
        {**info, **record},
    )
    return record
