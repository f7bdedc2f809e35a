"""Config lookups and input/argument functions of the audit's rules (audit.smk; the sampler
rules of generator.smk and generator_direct.smk call `control_flags`). Imports only the torch-free
workflow layer."""

from condpdiff.conditions.controls import SAMPLED, shuffled_partner
from condpdiff.pipeline.paths import (
    PLAIN_DRAW_RE,
    TAG_CONDITION,
    seed_of,
    selection_wildcards,
    split_draw,
)

AUDIT_ARMS = list(config["audit"]["arms"])
# The {control} parts of the arms a generator samples, and the {draw} parts of the noise arm.
SAMPLED_CONTROL_RE = names.alternatives([f"-{a}" for a in AUDIT_ARMS if a in SAMPLED])
NOISE_DRAW_RE = f"({PLAIN_DRAW_RE})-noise" if "noise" in AUDIT_ARMS else "(?!)"


def condition_partner(wildcards):
    """The task whose condition a shuffled draw of `wildcards.task` takes: the next of the
    generator's tasks (all of the backbone's for a task a leave-one-out generator left out).
    """
    tasks = members(wildcards)
    if wildcards.task not in tasks:
        tasks = all_members(wildcards)
    return shuffled_partner(tasks, wildcards.task)


def control_condition(wildcards):
    """The condition file a control draw samples with."""
    if wildcards.control == "-null":
        return P.null_condition(condition=wildcards.condition, task=wildcards.task)
    return P.condition(condition=wildcards.condition, task=condition_partner(wildcards))


def control_flags(wildcards):
    """The sampler's control flags of a draw (sample_candidates, sample_direct): none for the
    generator's own candidates."""
    control = wildcards.get("control", "")
    if not control:
        return ""
    flags = f"--control {control[1:]}"
    if control == "-shuffled":
        flags += f" --condition-task {shlex.quote(condition_partner(wildcards))}"
    return flags


def own_draw(wildcards):
    """The wildcards of the generator's own draw beside an arm (the -noise part dropped)."""
    w = dict(wildcards.items())
    w["draw"] = split_draw(w["draw"])[0]
    return w


def noise_source_cell(wildcards):
    """The generated cell that selected the candidate the noise arm is made around: the
    generator's own draw, at the configured selection (images: Table 2's evaluation setting).
    """
    w = own_draw(wildcards)
    if wildcards.backbone in IMAGE_BASES:
        return IP.scores.generated(**w, evalpart=EVAL_PARTS[0], **table2_selection())
    return P.generated(**w, **selection_wildcards(targets.selection_dir(config)))


def table2_selection():
    return image_selection_wildcards(int(EVAL_PARTS[0].rsplit("-seed", 1)[1]))
