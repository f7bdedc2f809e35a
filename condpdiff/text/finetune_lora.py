"""LoRA fine-tuning of one backbone x rank x task, harvesting the LoRA weights of the last N steps.

The harvest goes straight into one parameter file (see ``paramfile``): an [N, K] float32
matrix, the classifier head at each harvested step, the step numbers and the training loss.
Recipe defaults are the paper's (docs/method.md section 1).

Two seeds: ``seed`` draws the data subsets (max_train_examples, max_dev_examples; scoring and the
selection split use it too), and the training randomness (LoRA and head init, batch order,
dropout) uses ``seed + finetune_seed``: fine-tuning seed N (config ``seeds.finetune``, the path part
``-ftseed{N}``) retrains on the same examples, and N = 0 is the one-seed run.
"""

from __future__ import annotations

import argparse
import logging
import math
import time
from dataclasses import asdict, dataclass

import torch
from tqdm import tqdm

from condpdiff.params.paramfile import ParamSet, flatten, layout_of
from condpdiff.pipeline.artifacts import NonFiniteError
from condpdiff.text import backbone as bb
from condpdiff.text import data
from condpdiff.text import inference as evaluation
from condpdiff.text.args import add_backbone_task_args
from condpdiff.text.tasks import Task, load_task_file
from condpdiff.util import cli
from condpdiff.util.atomic import write_json
from condpdiff.util.precision import autocast_dtype

log = logging.getLogger("condpdiff.text.finetune_lora")


@dataclass
class FinetuneConfig:
    epochs: int = 20
    lr: float = 1e-4
    head_lr: float | None = None  # the fresh task head's lr; None = lr (the paper's single lr)
    warmup_ratio: float = 0.1
    weight_decay: float = 0.1
    lora_dropout: float = 0.1
    batch_size: int = 16
    max_length: int = 128
    seed: int = 42  # the data subsets' seed; training uses seed + finetune_seed (training_seed)
    finetune_seed: int = 0  # the fine-tuning replicate N (path part -ftseed{N}; 0: none)
    harvest_last: int = 150
    max_train_examples: int | None = None
    max_dev_examples: int | None = None
    mixed_precision: str = (
        "auto"  # auto (bf16 on a GPU or a CPU that has it, see util.precision) | no | fp16 | bf16
    )
    eval_batch_size: int = 128
    group_by_length: bool = (
        False  # batches of similar length (transformers' length-grouped order): less padding
    )


def finetune(
    model_path: str,
    task: Task,
    train: data.Examples,
    dev: data.Examples | None,
    rank: int,
    alpha: int,
    target_modules,
    cfg: FinetuneConfig,
    device: torch.device | None = None,
    info: dict | None = None,
) -> tuple[ParamSet, dict]:
    """Train LoRA, returning the harvested ParamSet and a summary (dev score of the last step,
    timings)."""
    device = device or torch.device("cuda" if torch.cuda.is_available() else "cpu")
    t0 = time.time()
    tokenizer = bb.load_tokenizer(model_path)
    base = bb.load_base_model(model_path, task.num_labels, seed=training_seed(cfg))
    model = bb.wrap_lora(base, rank, alpha, target_modules, cfg.lora_dropout).to(device)

    enc_train = evaluation.encode(tokenizer, train, cfg.max_length, sort_by_length=False)
    steps_per_epoch = math.ceil(len(enc_train) / cfg.batch_size)
    total = cfg.epochs * steps_per_epoch
    if total < cfg.harvest_last:
        raise ValueError(
            f"task {task.name!r}: {cfg.epochs} epochs x {steps_per_epoch} steps = {total} "
            f"optimisation steps, fewer than finetune.harvest_last={cfg.harvest_last}: raise "
            "epochs or the train size cap"
        )
    optim = torch.optim.AdamW(param_groups(model, cfg), lr=cfg.lr)
    from transformers import get_linear_schedule_with_warmup

    sched = get_linear_schedule_with_warmup(optim, int(cfg.warmup_ratio * total), total)
    amp = autocast_dtype(cfg.mixed_precision, device)
    scaler = torch.amp.GradScaler("cuda", enabled=amp == torch.float16)

    lora0, head0 = bb.split_state_dict(model)
    layout = layout_of(lora0)
    n_keep = cfg.harvest_last
    params = torch.empty(n_keep, sum(t.numel() for t in lora0.values()), dtype=torch.float32)
    heads = {k: torch.empty(n_keep, *v.shape, dtype=torch.float32) for k, v in head0.items()}
    steps = torch.empty(n_keep, dtype=torch.long)
    losses = torch.empty(n_keep, dtype=torch.float32)
    first_harvest = total - n_keep + 1

    gen = torch.Generator().manual_seed(training_seed(cfg))
    step = 0
    model.train()
    bar = tqdm(total=total, desc=f"finetune {task.name} r{rank}", mininterval=5)
    for _epoch in range(cfg.epochs):
        perm = epoch_order(enc_train, cfg, gen)
        for start in range(0, len(perm), cfg.batch_size):
            idx = perm[start : start + cfg.batch_size]
            batch = tokenizer.pad([enc_train.features[i] for i in idx], return_tensors="pt")
            batch = {k: v.to(device) for k, v in batch.items()}
            labels = torch.tensor([train.labels[i] for i in idx], device=device)
            labels = labels.float() if task.is_regression else labels.long()
            with torch.autocast(device.type, dtype=amp, enabled=amp is not None):
                loss = model(**batch, labels=labels).loss
            step_loss = loss.item()
            if not math.isfinite(step_loss):
                raise NonFiniteError(
                    f"finetune {task.name} r{rank}: loss is {step_loss} at step {step + 1} of "
                    f"{total}: training diverged; nothing was written. Likely cause: finetune.lr = "
                    f"{cfg.lr} (head_lr {cfg.head_lr}) is too large"
                )
            optim.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optim)
            scaler.update()
            sched.step()
            step += 1
            if step >= first_harvest:
                row = step - first_harvest
                lora, head = bb.split_state_dict(model)
                params[row] = flatten(lora, layout)
                if not bool(torch.isfinite(params[row]).all()):
                    raise NonFiniteError(
                        f"finetune {task.name} r{rank}: non-finite LoRA weights at step {step}: "
                        "training diverged; nothing was written. Likely cause: finetune.lr = "
                        f"{cfg.lr} is too large"
                    )
                for k, v in head.items():
                    heads[k][row] = v.detach().float().cpu()
                steps[row] = step
                losses[row] = loss.detach().float().cpu()
            bar.update(1)
            bar.set_postfix(loss=f"{step_loss:.4f}", refresh=False)
    bar.close()
    train_seconds = time.time() - t0

    summary = {
        "task": task.name,
        "rank": rank,
        "alpha": alpha,
        "k": params.shape[1],
        "n_harvested": n_keep,
        "total_steps": total,
        "n_train": len(train),
        "train_seconds": round(train_seconds, 2),
        "device": str(device) if device.type == "cpu" else torch.cuda.get_device_name(device),
        "final_train_loss": float(losses[-1]),
        "config": asdict(cfg),
    }
    if dev is not None:
        enc_dev = evaluation.encode(tokenizer, dev, cfg.max_length)
        summary["n_dev"] = len(dev)
        summary["dev_last_checkpoint"] = evaluation.evaluate(
            model, tokenizer, enc_dev, task, cfg.eval_batch_size, amp
        )
    pset = ParamSet(
        params=params,
        layout=layout,
        steps=steps,
        loss=losses,
        heads=heads,
        info={
            **(info or {}),
            "kind": "checkpoints",
            "task": task.name,
            "rank": rank,
            "alpha": alpha,
            "model": model_path,
            "target_modules": list(target_modules),
            "finetune_seed": cfg.finetune_seed,
        },
    )
    return pset, summary


def training_seed(cfg: FinetuneConfig) -> int:
    """The seed of the training randomness (init, batch order, dropout): the data seed plus the
    fine-tuning replicate, so replicate 0 is the one-seed run and every replicate sees the same
    examples."""
    return cfg.seed + cfg.finetune_seed


def load_subsets(task: Task, cfg: FinetuneConfig, source: str, glue_dir: str):
    """The train and dev examples fine-tuning uses: capped with the data seed `cfg.seed`, never
    the fine-tuning replicate (every replicate trains on the same subset)."""
    train = data.cap(
        data.load_split(task, "train", source, glue_dir), cfg.max_train_examples, cfg.seed
    )
    dev = data.cap(data.load_split(task, "dev", source, glue_dir), cfg.max_dev_examples, cfg.seed)
    return train, dev


def epoch_order(
    enc_train: evaluation.Encoded, cfg: FinetuneConfig, gen: torch.Generator
) -> list[int]:
    """One epoch's example order: a seeded permutation, or with ``group_by_length`` the order of
    transformers' ``LengthGroupedSampler`` (a permutation cut into mega-batches of up to 50
    batches, each sorted by length), so a batch pads to a length close to its members' own."""
    if not cfg.group_by_length:
        return torch.randperm(len(enc_train), generator=gen).tolist()
    from transformers.trainer_pt_utils import get_length_grouped_indices

    lengths = [len(f["input_ids"]) for f in enc_train.features]
    return list(get_length_grouped_indices(lengths, cfg.batch_size, generator=gen))


def param_groups(model, cfg: FinetuneConfig) -> list[dict]:
    """AdamW groups: weight decay on matrices only; the head at ``head_lr``.

    The head starts from scratch while LoRA starts at zero change: with a short run (the CPU
    demo's 252 steps) a regression head at the LoRA lr cannot even reach the label mean
    (Adam moves a weight by about lr per step), so the head may get its own, larger lr.
    """
    groups = []
    for is_head in (False, True):
        named = [
            (n, p)
            for n, p in model.named_parameters()
            if p.requires_grad and ("lora_" not in n) == is_head
        ]
        lr = cfg.head_lr if is_head and cfg.head_lr is not None else cfg.lr
        for decay in (True, False):
            params = [p for _, p in named if (p.ndim >= 2) == decay]
            if params:
                groups.append(
                    {"params": params, "weight_decay": cfg.weight_decay if decay else 0.0, "lr": lr}
                )
    return groups


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    add_backbone_task_args(p)
    p.add_argument("--backbone", default="", help="backbone key (recorded in the file)")
    p.add_argument("--out", required=True, help="harvest parameter file (.safetensors)")
    p.add_argument(
        "--summary", required=True, help="JSON summary: K, dev score of the last checkpoint, time"
    )
    cli.add_dataclass_args(p, FinetuneConfig)
    a = p.parse_args(argv)
    cli.setup_logging()
    cfg = cli.dataclass_from_args(FinetuneConfig, a)
    task = load_task_file(a.task_file)
    if cfg.finetune_seed < 0:
        raise ValueError(f"--finetune-seed {cfg.finetune_seed}: expected a non-negative integer")
    train, dev = load_subsets(task, cfg, a.data_source, a.glue_dir)
    log.info("task %s: %d train / %d dev examples", task.name, len(train), len(dev))
    pset, summary = finetune(
        a.model,
        task,
        train,
        dev,
        a.rank,
        a.alpha,
        a.target_modules,
        cfg,
        info={"backbone": a.backbone},
    )
    pset.save(a.out)
    write_json(a.summary, summary)
    log.info("harvested %d x %d; dev %s", pset.n, pset.k, summary.get("dev_last_checkpoint"))


if __name__ == "__main__":
    main()
