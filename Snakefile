"""condpdiff: LoRA fine-tuning -> harvest -> autoencoder -> conditional diffusion -> candidates -> scores -> tables."""

from snakemake.utils import min_version

min_version("9.0")


# The paper's configuration unless --configfile names another: a given config replaces
# it rather than being merged into it (merging would mix in the paper's backbones).
if not config:

    configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"


if config.get("tasks"):

    include: "workflow/rules/text.smk"


include: "workflow/rules/generator.smk"
include: "workflow/rules/generator_direct.smk"
include: "workflow/rules/generate.smk"
include: "workflow/rules/evaluate.smk"


if config.get("image"):

    include: "workflow/rules/image_common.smk"
    include: "workflow/rules/image.smk"
    include: "workflow/rules/image_analysis.smk"
    include: "workflow/rules/image_generalisation.smk"


include: "workflow/rules/audit_common.smk"
include: "workflow/rules/audit.smk"
include: "workflow/rules/analysis.smk"


rule all:
    default_target: True
    input:
        targets.all_targets(config),
