"""Path helpers and wildcard constraints of the generator rules (generator.smk)."""


wildcard_constraints:
    condition="clip-twoshot|clip-desc|sentence-twoshot|sentence-desc|onehot|learnable",
    sampler=r"(ddpm|ddim)\d+",


def at(base, *parts):
    """`base`/`parts` (a join, so no path literal starts with '/')."""
    return "/".join([base, *parts])


AE_DIR = at(GEN_DIR, "autoencoder")
DIFF_DIR = at(GEN_DIR, "cond-{condition}/diffusion")
GEN_TAG = "{backbone}_r{rank}_n{n}_layers-{layers}_norm-{norm}"


def tagged(suffix):
    """Log/benchmark file name of a generator job: the GEN_DIR wildcards flattened, plus `suffix`."""
    return GEN_TAG + suffix


def runtime(rule_name, default):
    return config.get("resources", {}).get(f"{rule_name}_runtime", default)


def condition_file(condition, task):
    return at(R, "conditions", condition, f"{task}.safetensors")


def all_conditions(wildcards):
    return [condition_file(wildcards.condition, t) for t in TASKS]


def task_harvest(wildcards):
    return harvest_path(wildcards.backbone, wildcards.rank, wildcards.task)


def folder_of(key):
    """The model folder of output/input `key` (the rule's entry points take folders)."""
    return lambda wildcards, output: str(Path(output[key]).parent)
