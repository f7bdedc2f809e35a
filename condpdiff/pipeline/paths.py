"""Every artifact path, in one place (docs/formats.md describes each file).

``Paths(results_dir)`` returns path *patterns* with Snakemake wildcards (``{task}``, ...);
keyword arguments fill some or all of them, so the same method serves a rule's ``output:``
(no arguments), an input function (``P.harvest(**wildcards)``) and a table's cell list (every
value given). Every setting that changes an artifact is a part of its path. ``{unseen}`` is empty
for the generator trained on every task, or ``-without-{task}`` for one trained without that task
(leave-one-out: the candidates of the left-out task are generated for a task it never saw).
``{ftseed}`` (after ``r{rank}``) and ``{genseed}`` (after ``{unseen}``) are the fine-tuning and
generator seeds (config ``seeds``): empty for seed 0, so a seed-0 path is the one-seed path, else
``-ftseed{N}`` / ``-genseed{N}`` (`seed_part`).
``{draw}`` says how a generator kind drew its candidates: kind pdiff's ``{sampler}`` (``ddim50``),
kind direct's ``recipe-{recipe}`` (``recipe-k8-layer-w0.75``); given a ``kind`` and no ``draw``,
`fill` writes the kind's own part (so a pdiff rule's pattern has ``{sampler}``, a direct rule's
``{recipe}``, and the rules every kind shares have ``{draw}``). Each kind's part ends in
``{control}``: "" for the generator's own candidates, or an audit arm (``-noise``, ``-null``,
``-shuffled``; condpdiff.audit), so an arm is scored, selected and tabled like any draw:

    R/tasks/{task}.json                                        task definition
    R/data/glue/{synthetic}/{train,dev}.tsv                         synthetic smoke data
    R/backbones/{backbone}/                                    tiny random backbone (smoke)
    R/finetune/{backbone}/r{rank}{ftseed}/{task}/              harvest.safetensors, summary.json
    R/conditions/{condition}/{task}.safetensors                condition vector
    R/conditions/{condition}/null/{task}.safetensors           its null condition (zeros; arm -null)
    R/generator/{backbone}/r{rank}{ftseed}/n{n}/layers-{layers}/norm-{norm}{unseen}{genseed}/  GEN
      GEN/stats.safetensors                                    normalisation statistics
      GEN/pdiff/autoencoder/                                   parameter autoencoder (+ recon/)
      GEN/pdiff/cond-{condition}/diffusion/                    diffusion model
      GEN/direct/cond-{condition}/recipe-{recipe}/model/       direct generator (k8-layer-w0.75, ...)
      GEN/{kind}/cond-{condition}/{draw}/candidates/{task}.safetensors   ({draw} ends in {control})
    R/scores/{backbone}/r{rank}{ftseed}/                       SC
      SC/{task}/harvest_scores.json                            every harvested checkpoint on dev
      SC/{task}/nolora{_scores,}.json                          no LoRA (all LoRA weights zero, the task's head)
      SC/n{n}/{task}/{original,soup}.json                      baseline cells (+ soup_scores.json)
      SC/n{n}/layers-{layers}/norm-{norm}{unseen}{genseed}/    SG
        SG/pdiff/autoencoder/{task}/recon{_scores,}.json       reconstructions
        SG/{kind}/cond-{condition}/{draw}/{task}/              SCORED: candidate_scores.json
          SCORED/sel{sel_n}-seed{sel_seed}{sel_pool}{sel_race}/ SELECTED: selection_scores.json, selected_scores.json, generated.json
            SELECTED/from-{source}/cross{_scores,}.json        cross-task check
            SELECTED/memorisation.json                        the audit's memorisation cell
    R/adapters/.../{task}/sel{sel_n}-seed{sel_seed}{sel_pool}{sel_race}/ the selected candidate (PEFT folder)
    R/adapters/generated/{backbone}/.../{draw}/{entry}/       adapter for a `generate_for` entry
    R/tables/{table}.{csv,md}
    R/logs/{rule}/{tag}.log, R/benchmarks/{rule}/{tag}.tsv
"""  # noqa: E501 (the path table's rows)

from __future__ import annotations

import re

from condpdiff.pipeline.names import CONTROL_RE, CONTROLS, DIRECT_RE, SAMPLER_RE

_FIELD = re.compile(r"\{([A-Za-z_]+)\}")

GEN_PART = "{backbone}/r{rank}{ftseed}/n{n}/layers-{layers}/norm-{norm}{unseen}{genseed}"
DRAW_PART = "{kind}/cond-{condition}/{draw}"
# The {draw} part of each generator kind: how it drew its candidates (see the module docstring).
# {control}: "" for the generator's own candidates, else an audit arm -noise / -null / -shuffled
# (`control_part`).
DRAW_BY_KIND = {"pdiff": "{sampler}{control}", "direct": "recipe-{recipe}{control}"}
SEL_PART = "sel{sel_n}-seed{sel_seed}{sel_pool}{sel_race}"

# Log / benchmark file names: the job's wildcards flattened.
TAG_TASK = "{backbone}_r{rank}{ftseed}_{task}"
TAG_N = "{backbone}_r{rank}{ftseed}_n{n}_{task}"
TAG_GEN = "{backbone}_r{rank}{ftseed}_n{n}_layers-{layers}_norm-{norm}{unseen}{genseed}"
TAG_RECON = TAG_GEN + "_{task}"
TAG_DIFF = TAG_GEN + "_cond-{condition}"
TAG_DIRECT = TAG_GEN + "_direct_cond-{condition}_recipe-{recipe}"
TAG_DRAW = TAG_GEN + "_{kind}_cond-{condition}_{draw}_{task}"
TAG_EXPORT = TAG_GEN + "_{kind}_cond-{condition}_{draw}"  # an exported generator folder
TAG_GENERATED = TAG_EXPORT + "_{entry}"  # an adapter generated for a config `generate_for` entry
TAG_SEL = TAG_DRAW + "_" + SEL_PART
TAG_CROSS = TAG_SEL + "_from-{source}"
TAG_CONDITION = "{condition}_{task}"  # a condition file (and its null condition)


def fill(pattern: str, **values) -> str:
    """`pattern` with the wildcards named in `values` replaced (others stay as ``{name}``); a
    ``{draw}`` with a ``kind`` and no ``draw`` given becomes that kind's own part
    (`DRAW_BY_KIND`); given its sampler / recipe and no ``control``, the generator's own draw
    (control "")."""
    if "{draw}" in pattern and "draw" not in values and "kind" in values:
        if values["kind"] not in DRAW_BY_KIND:
            raise ValueError(
                f"unknown generator kind {values['kind']!r}: expected one of {list(DRAW_BY_KIND)}"
            )
        part = DRAW_BY_KIND[values["kind"]]
        named = set(_FIELD.findall(part)) - {"control"}
        if "control" not in values and named <= set(values):
            values = {**values, "control": ""}
        pattern = pattern.replace("{draw}", part)
    return _FIELD.sub(
        lambda m: str(values[m.group(1)]) if m.group(1) in values else m.group(0), pattern
    )


# Any kind's {draw} part (the constraint of the rules every kind shares), and the same without
# an audit arm (a generator's own candidates: the draw an arm is made beside).
DRAW_RE = "|".join(
    f"({fill(part, sampler=SAMPLER_RE, recipe=DIRECT_RE, control=CONTROL_RE)})"
    for part in DRAW_BY_KIND.values()
)
PLAIN_DRAW_RE = "|".join(
    f"({fill(part, sampler=SAMPLER_RE, recipe=DIRECT_RE, control='')})"
    for part in DRAW_BY_KIND.values()
)


def control_part(control: str) -> str:
    """The ``{control}`` path part of an audit arm: "" for none (the generator's own candidates),
    else ``-noise`` / ``-null`` / ``-shuffled``."""
    if control and control not in CONTROLS:
        raise ValueError(f"unknown audit arm {control!r}: expected '' or one of {list(CONTROLS)}")
    return f"-{control}" if control else ""


def split_draw(draw: str) -> tuple[str, str]:
    """A ``{draw}`` part as (the draw without its arm, the arm: "" or noise / null / shuffled)."""
    for control in CONTROLS:
        if draw.endswith(f"-{control}"):
            return draw[: -len(control) - 1], control
    return draw, ""


def draw_part(kind: str, value: str, control: str = "") -> str:
    """The ``{draw}`` part of generator `kind` drawing with `value` (pdiff: its sampler, e.g.
    ``ddim50``; direct: its recipe, e.g. ``k8-layer-w0.75``, giving ``recipe-k8-layer-w0.75``),
    with the audit arm `control` ("" for none; "noise" gives ``ddim50-noise``)."""
    return fill("{draw}", kind=kind, sampler=value, recipe=value, control=control_part(control))


UNSEEN_PREFIX = "-without-"


def unseen_part(task: str | None) -> str:
    """The generator path part ``-without-{task}`` of a generator trained without `task`; ""
    for none."""
    return f"{UNSEEN_PREFIX}{task}" if task else ""


def unseen_task(part: str) -> str | None:
    """The inverse of `unseen_part`: the left-out task, or None for the generator of every task."""
    if not part:
        return None
    if not part.startswith(UNSEEN_PREFIX) or len(part) == len(UNSEEN_PREFIX):
        raise ValueError(
            f"not an unseen-task path part: {part!r} (expected '' or e.g. '-without-sst2')"
        )
    return part[len(UNSEEN_PREFIX) :]


# The seed path parts: "" for seed 0 (the one-seed layout), else -ftseed{N} / -genseed{N}.
SEED_PREFIX = {"ft": "-ftseed", "gen": "-genseed"}
SEED_WILDCARD = {"ft": "ftseed", "gen": "genseed"}
SEED_RE = {kind: rf"({prefix}[1-9]\d*)?" for kind, prefix in SEED_PREFIX.items()}


def seed_part(kind: str, n: int) -> str:
    """The path part of fine-tuning (`kind` "ft") or generator ("gen") seed `n`: "" for 0, else
    ``-ftseed{n}`` / ``-genseed{n}``."""
    if kind not in SEED_PREFIX:
        raise ValueError(f"unknown seed kind {kind!r}: expected one of {list(SEED_PREFIX)}")
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"{kind} seed {n!r}: expected a non-negative integer")
    return f"{SEED_PREFIX[kind]}{n}" if n else ""


def seed_of(part: str) -> int:
    """The inverse of `seed_part`: the seed a ``{ftseed}`` or ``{genseed}`` part names (0 for
    "")."""
    if not part:
        return 0
    for kind, prefix in SEED_PREFIX.items():
        if re.fullmatch(SEED_RE[kind], part):
            return int(part[len(prefix) :])
    raise ValueError(
        f"not a seed path part: {part!r} (expected '' or e.g. '-ftseed1' / '-genseed2')"
    )


def seed_wildcards(setting: dict | None = None) -> dict:
    """The ``ftseed`` / ``genseed`` wildcards of a setting's optional ``ftseed`` / ``genseed``
    ints (absent: seed 0, the empty part)."""
    setting = setting or {}
    return {
        SEED_WILDCARD[kind]: seed_part(kind, setting.get(SEED_WILDCARD[kind], 0))
        for kind in SEED_PREFIX
    }


def first_seeds(config: dict) -> dict:
    """``{"ftseed": f, "genseed": g}``: the first seed of each config `seeds` list, the seeds of
    every target that is not a seeded table (ablations, cross, unseen, analyses, ...)."""
    seeds = config.get("seeds") or {}
    return {
        "ftseed": (seeds.get("finetune") or [0])[0],
        "genseed": (seeds.get("generator") or [0])[0],
    }


def selection_part(size: int, seed: int, pool: str = "train", race: int = 0) -> str:
    """``sel{size}-seed{seed}``, plus ``-heldout`` when drawn from what fine-tuning left out, plus
    ``-race{first}`` when selected by successive halving from the first `first` examples."""
    return (
        f"sel{size}-seed{seed}"
        + ("-heldout" if pool == "heldout" else "")
        + (f"-race{race}" if race else "")
    )


def selection_wildcards(part: str) -> dict:
    """The inverse of `selection_part`, as the wildcards sel_n / sel_seed / sel_pool / sel_race."""
    m = re.fullmatch(r"sel(\d+)-seed(\d+)(-heldout)?(-race[1-9]\d*)?", part)
    if not m:
        raise ValueError(f"not a selection path part: {part!r} (expected e.g. 'sel1000-seed0')")
    return {
        "sel_n": m.group(1),
        "sel_seed": m.group(2),
        "sel_pool": m.group(3) or "",
        "sel_race": m.group(4) or "",
    }


class Paths:
    """The artifact paths under one results folder (see the module docstring)."""

    def __init__(self, results: str):
        self.root = str(results).rstrip("/")

    def _p(self, rel: str, values: dict) -> str:
        return fill(f"{self.root}/{rel}", **values)

    # inputs built by rules
    def task(self, **w) -> str:
        return self._p("tasks/{task}.json", w)

    def synthetic_glue_dir(self) -> str:
        return f"{self.root}/data/glue"

    def synthetic_split(self, split: str, **w) -> str:
        return self._p(f"data/glue/{{synthetic}}/{split}.tsv", w)

    def tiny_backbone(self, **w) -> str:
        return self._p("backbones/{backbone}", w)

    # fine-tuning
    def finetune_dir(self, **w) -> str:
        return self._p("finetune/{backbone}/r{rank}{ftseed}/{task}", w)

    def harvest(self, **w) -> str:
        return f"{self.finetune_dir(**w)}/harvest.safetensors"

    def finetune_summary(self, **w) -> str:
        return f"{self.finetune_dir(**w)}/summary.json"

    # generator
    def condition(self, **w) -> str:
        return self._p("conditions/{condition}/{task}.safetensors", w)

    def null_condition(self, **w) -> str:
        """The audit's null condition of a task: zeros of its condition's shape (arm -null)."""
        return self._p("conditions/{condition}/null/{task}.safetensors", w)

    def generator_dir(self, **w) -> str:
        return self._p(f"generator/{GEN_PART}", w)

    def norm_stats(self, **w) -> str:
        return f"{self.generator_dir(**w)}/stats.safetensors"

    def autoencoder_dir(self, **w) -> str:
        return f"{self.generator_dir(**w)}/pdiff/autoencoder"

    def autoencoder(self, name: str, **w) -> str:
        """A file of the autoencoder's model folder (model.safetensors, config.json, curve.csv,
        report.json)."""
        return f"{self.autoencoder_dir(**w)}/{name}"

    def reconstructions(self, **w) -> str:
        return fill(f"{self.autoencoder_dir(**w)}/recon/{{task}}.safetensors", **w)

    def diffusion_dir(self, **w) -> str:
        return fill(f"{self.generator_dir(**w)}/pdiff/cond-{{condition}}/diffusion", **w)

    def diffusion(self, name: str, **w) -> str:
        """A file of the diffusion model's folder (model.safetensors, config.json, curve.csv)."""
        return f"{self.diffusion_dir(**w)}/{name}"

    def direct(self, name: str, **w) -> str:
        """A file of the direct generator's model folder (model.safetensors, config.json,
        curve.csv)."""
        folder = f"{self.generator_dir(**w)}/{DRAW_PART}/model"
        # one model serves its own draw and every arm's: no {control} in its folder
        return fill(f"{folder}/{name}", **{**w, "kind": "direct", "control": ""})

    def candidates(self, **w) -> str:
        return fill(f"{self.generator_dir(**w)}/{DRAW_PART}/candidates/{{task}}.safetensors", **w)

    def generator_export(self, **w) -> str:
        """The self-contained generator folder of one kind x condition x draw
        (condpdiff.generate.export)."""
        # an export is of a generator's own draw: no audit arm
        return fill(f"{self.generator_dir(**w)}/{DRAW_PART}/export", **{**w, "control": ""})

    # scores and cells
    def scores_dir(self, **w) -> str:
        return self._p("scores/{backbone}/r{rank}{ftseed}", w)

    def harvest_scores(self, **w) -> str:
        return fill(f"{self.scores_dir(**w)}/{{task}}/harvest_scores.json", **w)

    def nolora(self, name: str, **w) -> str:
        """``nolora.json`` (cell) or ``nolora_scores.json``: the task's head with every LoRA
        weight zero."""
        return fill(f"{self.scores_dir(**w)}/{{task}}/{name}.json", **w)

    def baseline(self, name: str, **w) -> str:
        """``original.json``, ``soup.json`` or ``soup_scores.json`` of the last n checkpoints."""
        return fill(f"{self.scores_dir(**w)}/n{{n}}/{{task}}/{name}.json", **w)

    def setting_scores_dir(self, **w) -> str:
        return self._p(f"scores/{GEN_PART}", w)

    def recon_scores(self, name: str = "recon_scores", **w) -> str:
        return fill(f"{self.setting_scores_dir(**w)}/pdiff/autoencoder/{{task}}/{name}.json", **w)

    def scored_dir(self, **w) -> str:
        return fill(f"{self.setting_scores_dir(**w)}/{DRAW_PART}/{{task}}", **w)

    def candidate_scores(self, **w) -> str:
        return f"{self.scored_dir(**w)}/candidate_scores.json"

    def selected_dir(self, **w) -> str:
        return fill(f"{self.scored_dir(**w)}/{SEL_PART}", **w)

    def selection_scores(self, **w) -> str:
        return f"{self.selected_dir(**w)}/selection_scores.json"

    def selected_scores(self, **w) -> str:
        """Dev scores of the selected candidate only (one row; the default, see
        scoring.dev_all_candidates)."""
        return f"{self.selected_dir(**w)}/selected_scores.json"

    def generated(self, **w) -> str:
        return f"{self.selected_dir(**w)}/generated.json"

    def memorisation(self, **w) -> str:
        """The audit's memorisation cell of the selected candidate
        (condpdiff.audit.memorisation)."""
        return f"{self.selected_dir(**w)}/memorisation.json"

    def cross(self, name: str = "cross", **w) -> str:
        return fill(f"{self.selected_dir(**w)}/from-{{source}}/{name}.json", **w)

    def adapter(self, **w) -> str:
        return self._p(f"adapters/{GEN_PART}/{DRAW_PART}/{{task}}/{SEL_PART}", w)

    def generated_adapter(self, **w) -> str:
        """The adapter ``condpdiff generate`` makes for config `generate_for` entry ``{entry}``."""
        return self._p(f"adapters/generated/{GEN_PART}/{DRAW_PART}/{{entry}}", {**w, "control": ""})

    # tables, logs, benchmarks
    def table(self, ext: str, **w) -> str:
        return self._p(f"tables/{{table}}.{ext}", w)

    def log(self, rule: str, tag: str) -> str:
        return f"{self.root}/logs/{rule}/{tag}.log"

    def benchmark(self, rule: str, tag: str) -> str:
        return f"{self.root}/benchmarks/{rule}/{tag}.tsv"
