"""How to rebuild a cached file: the advice an artifact error ends with.

Which rule writes a file (by its place in the results layout) and the ``snakemake <file> --force``
command that rebuilds it. Words for a person only: no step's output depends on them, so the code
hash leaves this module out (``pipeline.codehash.MESSAGE_ONLY``) and adding or rewording a rule
here marks no result stale. ``pipeline.artifacts`` puts the hint into its errors.
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

# Which rule writes a file, by the file's name (see condpdiff/pipeline/paths.py and image_paths.py),
# first match: for the error's words only; the rebuild command targets the file itself.
_E = r"/image/eval/[^/]+"
_RULES = [
    # a file inside an exported generator folder: the folder is the rule's output (directory())
    (r"/pdiff/cond-[^/]+/[^/]+/export/.*$", "export_generator"),
    (r"/direct/cond-[^/]+/[^/]+/export/.*$", "export_direct_generator"),
    (r"/image/eval/.*/generalisation/.*/generator/.*$", "train_generalisation_generator"),
    (
        r"/image/eval/.*/generalisation/.*/candidates\.safetensors$",
        "sample_generalisation_candidates",
    ),
    (r"/image/eval/.*/generalisation/.*/set\.(safetensors|json)$", "build_generalisation_set"),
    (_E + r"/scores/.*/harvest_scores\.json$", "score_harvest_fid"),
    (_E + r"/scores/.*/soup_scores\.json$", "score_soup_fid"),
    (_E + r"/scores/.*/nolora_scores\.json$", "score_nolora_fid"),
    (_E + r"/scores/.*/selection_scores\.json$", "score_selection_fid"),
    (_E + r"/scores/.*/selected_scores\.json$", "score_selected_fid"),
    (_E + r"/scores/.*/cross_scores\.json$", "score_cross_fid"),
    (_E + r"/scores/.*/(original|soup|generated|cross)\.json$", "make_{0}_image_cell"),
    (_E + r"/scores/.*/nolora\.json$", "make_nolora_cell"),
    (_E + r"/real/.*\.safetensors$", "extract_real_features"),
    (
        r"/finetune/.*/(harvest\.safetensors|summary\.json)$",
        "finetune_lora (images: finetune_style_lora)",
    ),
    (r"/stats\.safetensors$", "compute_norm_stats"),
    (r"/conditions/sentence-data/.*\.safetensors$", "encode_data_condition"),
    (r"/conditions/resnet18-image/.*\.safetensors$", "encode_style_condition"),
    (r"/conditions/.*\.safetensors$", "encode_condition"),
    (
        r"-without-[^/]+/pdiff/autoencoder/(model\.safetensors|config\.json|report\.json|curve\.csv)$",
        "train_unseen_autoencoder",
    ),
    (
        r"/autoencoder/(recon/.*|model\.safetensors|config\.json|report\.json|curve\.csv)$",
        "train_autoencoder (images: train_image_autoencoder)",
    ),
    (r"/diffusion/(model\.safetensors|config\.json|curve\.csv)$", "train_diffusion"),
    (r"/direct/.*/model/(model\.safetensors|config\.json|curve\.csv)$", "train_direct"),
    (r"/direct/.*/candidates/.*\.safetensors$", "sample_direct"),
    (r"/candidates/.*\.safetensors$", "sample_candidates"),
    (r"/harvest_scores\.json$", "score_harvest"),
    (r"/soup_scores\.json$", "score_soup"),
    (r"/nolora_scores\.json$", "score_nolora"),
    (r"/candidate_scores\.json$", "score_candidates"),
    (r"/selection_scores\.json$", "score_selection"),
    (r"/selected_scores\.json$", "score_selected"),
    (r"/cross_scores\.json$", "score_cross_task"),
    (r"/recon_scores\.json$", "score_recon"),
    (r"/nolora\.json$", "make_text_nolora_cell"),
    (r"/(original|soup|generated|cross|recon)\.json$", "make_{0}_cell"),
    (r"/tasks/.*\.json$", "write_task"),
]

# The snakemake --configfile arguments of the running workflow (set by workflow/rules/common.smk),
# so that the rebuild command an error prints can be pasted as it is.
CONFIG_ENV = "CONDPDIFF_CONFIGFILES"


def slashed(path) -> str:
    """`path` as text with forward slashes and one leading slash (what the layout patterns
    match)."""
    return "/" + str(path).replace("\\", "/").lstrip("/")


def writing_rule(path: str | Path) -> str | None:
    """The rule that writes `path`, by its place in the results layout (None if unknown)."""
    for pattern, rule in _RULES:
        m = re.search(pattern, slashed(path))
        if m:
            return rule.format(*(m.groups() or ("",)))
    return None


def rebuild_target(path: str | Path) -> str:
    """What to ask Snakemake for to rebuild `path`: the file itself, or for a file inside an
    exported generator folder, the folder (the rule's ``directory()`` output)."""
    text = str(path)
    m = re.search(r"^(.*/export)/", text.replace("\\", "/"))
    return (
        m.group(1)
        if m and writing_rule(path) in ("export_generator", "export_direct_generator")
        else text
    )


def rebuild_command(path: str | Path) -> str:
    """``snakemake <path> --force ...``: reruns the job that writes `path`, even where the
    outputs made from it exist (deleting it and rerunning would then do nothing)."""
    configs = os.environ.get(CONFIG_ENV) or "<your config file(s)>"
    target = shlex.quote(rebuild_target(path))
    return f"snakemake {target} --force --cores all --configfile {configs}"


def rebuild_hint(path: str | Path) -> str:
    """The command that rebuilds `path` and what happens next, for an error message."""
    rule = writing_rule(path)
    if rule is None:
        return (
            f"if a workflow rule writes it, run `{rebuild_command(path)}` in the workflow folder;"
            " otherwise replace it with a good copy"
        )
    return (
        f"run `{rebuild_command(path)}` in the workflow folder (reruns rule {rule} for this file);"
        " your next run then remakes what was made from it, where the new file differs"
    )
