"""The generator folder: a trained generator and everything it needs, in one copyable folder.

Layout (docs/generate.md)::

    config.json          format, kind, domain, draw (sampler or recipe), base model, LoRA layout,
                         tasks, condition encoder, stats settings, sha256 of every file below
    README.md            the model card
    networks/<name>/     model.safetensors + config.json as ``generator.modelio`` writes them
                         (pdiff: autoencoder, diffusion; direct: direct)
    stats.safetensors    ``params.norm_stats`` file: a row per training task, then the pooled row
                         (``POOLED``) a condition the generator never saw is denormalised with
    tasks.safetensors    per training task: ``fill/<task>`` (its last checkpoint: the coordinates
                         the generator does not make), ``head/<task>/<name>`` (its head) and
                         ``condition/<task>`` (its condition embedding); ``fill/<POOLED>``
    base/                (optional) a copy of a local base model

`load` checks all of it (format, digests, networks, stats) and names the file at fault; nothing
in the results tree is read.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import torch

from condpdiff.pipeline.artifacts import ArtifactError

FORMAT = "condpdiff-generator/1"
CONFIG, README, STATS, TASKS = "config.json", "README.md", "stats.safetensors", "tasks.safetensors"
POOLED = "<pooled>"
NETWORKS = {"pdiff": ("autoencoder", "diffusion"), "direct": ("direct",)}
KEYS = ("format", "kind", "domain", "draw", "base", "lora", "tasks", "condition", "stats", "files")


class GeneratorFolderError(ValueError):
    """A generator folder that is missing, incomplete, corrupt or of an unknown format."""


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def tree_digest(folder: str | Path) -> dict[str, str]:
    """sha256 of every file under `folder`, keyed by its path relative to it."""
    folder = Path(folder)
    return {
        str(p.relative_to(folder)): sha256_file(p) for p in sorted(folder.rglob("*")) if p.is_file()
    }


def one_hot(cond: dict) -> bool:
    """A condition that only names a training task (onehot, learnable): no new task can be
    described."""
    return cond["projection"] == "table" or cond["encoder"].startswith("onehot")


def _problem(folder, what: str, expected: str, found: str) -> GeneratorFolderError:
    return GeneratorFolderError(f"{folder}: {what}; expected {expected}; found {found}")


def _from_artifact(e: Exception) -> GeneratorFolderError:
    """A reader's error about a file of the folder, without the results-tree rebuild hint."""
    return GeneratorFolderError(
        str(e).split(". To rebuild:")[0] + " (the generator folder is corrupt: export it again)"
    )


def read_config(folder: str | Path) -> dict:
    """config.json of a generator folder, checked for format and keys (files are checked by
    `load`)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise _problem(
            folder,
            "not a generator folder",
            "a folder written by condpdiff.generate.export",
            "no such folder" if not folder.exists() else "a file",
        )
    path = folder / CONFIG
    if not path.is_file():
        raise _problem(path, "incomplete generator folder", f"its {CONFIG}", "no such file")
    try:
        cfg = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise _problem(
            path, "unreadable generator config", "a JSON object", f"{type(e).__name__}: {e}"
        ) from None
    if not isinstance(cfg, dict):
        raise _problem(path, "unreadable generator config", "a JSON object", type(cfg).__name__)
    if cfg.get("format") != FORMAT:
        raise _problem(
            path,
            "a generator folder of an unknown format version",
            repr(FORMAT),
            repr(cfg.get("format")),
        )
    missing = [k for k in KEYS if k not in cfg]
    if missing:
        raise _problem(path, "incomplete generator config", f"keys {list(KEYS)}", f"no {missing}")
    if cfg["kind"] not in NETWORKS:
        raise _problem(
            path, "unknown generator kind", f"one of {sorted(NETWORKS)}", repr(cfg["kind"])
        )
    return cfg


def check_files(folder: Path, cfg: dict) -> None:
    """Every file config.json lists exists with its recorded sha256."""
    for rel, digest in cfg["files"].items():
        path = folder / rel
        if not path.is_file():
            raise _problem(
                path, "incomplete generator folder", "the file config.json lists", "no such file"
            )
        if sha256_file(path) != digest:
            raise _problem(
                path,
                "corrupt generator folder (the file changed after export)",
                f"sha256 {digest[:12]}...",
                f"sha256 {sha256_file(path)[:12]}...",
            )
    needed = [STATS, TASKS] + [
        f"networks/{n}/{f}"
        for n in NETWORKS[cfg["kind"]]
        for f in ("model.safetensors", "config.json")
    ]
    unlisted = [n for n in needed if n not in cfg["files"]]
    if unlisted:
        raise _problem(
            folder / CONFIG,
            "incomplete generator config",
            f"'files' listing {needed}",
            f"no {unlisted}",
        )


@dataclass
class Generator:
    """A loaded generator folder: networks, stats and per-task fills, heads and conditions."""

    root: Path
    config: dict
    networks: dict
    stats: object  # params.norm_stats.NormStats
    fills: dict[str, torch.Tensor]
    heads: dict[str, dict[str, torch.Tensor]] = field(default_factory=dict)
    conditions: dict[str, torch.Tensor] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return self.config["kind"]

    @property
    def layout(self) -> list[tuple[str, tuple[int, ...]]]:
        return [(n, tuple(s)) for n, s in self.config["lora"]["layout"]]

    @property
    def digest(self) -> str:
        """sha256 of config.json, which holds the sha256 of every other file."""
        return sha256_file(self.root / CONFIG)

    def row_for(self, task: str | None) -> str:
        """The stats row a condition is denormalised with: a training task's own, else the pooled
        one."""
        if task is None:
            return POOLED
        if task not in self.stats.tasks:
            raise ValueError(
                f"--task {task!r}: not a task this generator was trained on "
                f"(its tasks: {self.stats.tasks}); leave --task out for a new condition"
            )
        return task

    def sample(
        self, cond: torch.Tensor, row: str, num_candidates: int, seed: int, device: str = "cpu"
    ) -> torch.Tensor:
        """[num_candidates, K] LoRA vectors for condition `cond` (seeded: same seed, same
        vectors)."""
        from condpdiff.generator.candidates import candidates_paramset
        from condpdiff.params.paramfile import ParamSet

        z = self.normalised(cond, row, num_candidates, seed, device)
        fill = self.fills[row if row in self.fills else POOLED]
        like = ParamSet(
            fill[None], self.layout, torch.zeros(1, dtype=torch.long), torch.zeros(1), {}, {}
        )
        return candidates_paramset(z, self.stats, row, like, {}).params

    def normalised(
        self, cond: torch.Tensor, row: str, num_candidates: int, seed: int, device: str
    ) -> torch.Tensor:
        """The generator's own output, [n, K'] in the stats' normalised space of the pooled row or a
        task's."""
        if self.kind == "pdiff":
            from condpdiff.generator.pdiff.sample_candidates import SamplingConfig, generate

            cfg = SamplingConfig(num_candidates=num_candidates, seed=seed, device=device)
            return generate(
                self.networks["diffusion"],
                self.networks["autoencoder"],
                cond,
                self.config["draw"],
                cfg,
            )
        from condpdiff.conditions.condition import Condition
        from condpdiff.generator.direct.conditioning import ConditionBank, Recipe, condition_items
        from condpdiff.generator.direct.sample_direct import DirectSamplingConfig, generate

        c = self.config["condition"]
        items = condition_items(Condition(c["name"], cond, "", c["encoder"], "", c["projection"]))
        bank = ConditionBank([items])
        net = self.networks["direct"]
        if bank.dim != net.cond_dim:
            raise ValueError(
                f"a condition of width {bank.dim} does not fit the generator in {self.root} "
                f"(trained on width {net.cond_dim})"
            )
        cfg = DirectSamplingConfig(num_candidates=num_candidates, seed=seed, device=device)
        return generate(net, bank, Recipe.parse(self.config["draw"]).k, self.stats, row, cfg)[0]


def _tensors(path: Path) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as e:
        raise _problem(
            path,
            "corrupt generator folder: a safetensors file that does not load",
            "a safetensors file",
            f"{type(e).__name__}: {e}",
        ) from None


def load(folder: str | Path, device: str = "cpu") -> Generator:
    """Read and check a generator folder (see the module docstring); every problem names its
    file."""
    from condpdiff.generator.direct.network import load_direct
    from condpdiff.generator.pdiff.autoencoder import load_autoencoder
    from condpdiff.generator.pdiff.noise import load_diffusion
    from condpdiff.params.norm_stats import NormStats

    folder = Path(folder)
    cfg = read_config(folder)
    check_files(folder, cfg)
    loaders = {"autoencoder": load_autoencoder, "diffusion": load_diffusion, "direct": load_direct}
    # a draw the sampler cannot take is a config error; diffusers is imported here, not while
    # generating
    try:
        if cfg["kind"] == "pdiff":
            from diffusers import DDIMScheduler, DDPMScheduler  # noqa: F401

            from condpdiff.generator.pdiff.noise import parse_sampler

            parse_sampler(cfg["draw"])
        else:
            from condpdiff.generator.direct.conditioning import Recipe

            Recipe.parse(cfg["draw"])
    except ValueError as e:
        raise _problem(
            folder / CONFIG,
            "a draw this generator kind cannot take",
            "a sampler (ddim20) or a direct recipe (k8-layer-w0.75)",
            str(e),
        ) from None
    try:
        nets = {n: loaders[n](folder / "networks" / n, device) for n in NETWORKS[cfg["kind"]]}
        stats = NormStats.load(folder / STATS)
    except ArtifactError as e:
        raise _from_artifact(e) from None
    if POOLED not in stats.unseen:
        raise _problem(
            folder / STATS,
            "generator stats without the pooled row",
            f"a row {POOLED!r}",
            f"rows {stats.tasks + stats.unseen}",
        )
    k = sum(int(torch.tensor(s).prod()) for _, s in cfg["lora"]["layout"])
    if stats.mask.numel() != k:
        raise _problem(
            folder / STATS,
            "stats that do not fit the LoRA layout",
            f"K = {k}",
            f"K = {stats.mask.numel()}",
        )
    raw = _tensors(folder / TASKS)
    fills = {key[5:]: t for key, t in raw.items() if key.startswith("fill/")}
    if POOLED not in fills or any(t.numel() != k for t in fills.values()):
        raise _problem(
            folder / TASKS,
            "fill vectors missing or of the wrong size",
            f"fill/{POOLED} and one per task, each of K = {k}",
            f"{ {n: t.numel() for n, t in fills.items()} }",
        )
    heads: dict[str, dict] = {}
    for key, t in raw.items():
        if key.startswith("head/"):
            task, name = key[5:].split("/", 1)
            heads.setdefault(task, {})[name] = t
    conds = {key[10:]: t for key, t in raw.items() if key.startswith("condition/")}
    return Generator(folder, cfg, nets, stats, fills, heads, conds)
