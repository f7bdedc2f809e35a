"""condpdiff: generate LoRA weights with a conditional generator over parameters (Cond P-Diff,
arXiv 2408.01415), as the steps of a Snakemake pipeline (``workflow/``). Each rule runs
``python -m condpdiff.<package>.<module>``.

Subpackages, lowest first (a package imports only those above it in this list; ``text`` and
``image`` never import each other, and ``generator`` imports neither):

- ``util``: atomic writes, dataclass-driven command lines, precision and ranking helpers;
- ``pipeline``: what the Snakefile imports (config check, names, artifact paths, code hash,
  targets); imports no torch;
- ``params``: the parameter file format (harvested checkpoints = candidates) and normalisation;
- ``conditions``: condition files and encoders (text: CLIP, sentence encoders; images: ResNet-18),
  and the audit's condition controls (null and shuffled conditions);
- ``generator``: the parameter generators, one subpackage per kind (``pdiff``: autoencoder +
  conditional latent diffusion; ``direct``: a task's data mapped to its LoRA in one pass);
- ``audit``: the audit's noise baseline and memorisation measure (arXiv 2506.07998), over
  checkpoints and candidates of any domain;
- ``text``: GLUE tasks and data, BERT-family backbones, LoRA fine-tuning, scoring, adapter export;
- ``image``: styles, the PixArt-alpha base, style LoRA fine-tuning, image generation, FID,
  interpolation and the style-continuous generalisation set (one subpackage per concept);
- ``generate``: self-contained generator folders and the ``condpdiff generate`` command
  (console script ``condpdiff.cli``): a user's examples or images in, an adapter folder out;
- ``evaluate``: table cells (selection, baselines), tables and the report check, for metrics
  where higher or lower is better;
- ``analysis``: diagnoses, the paper's analyses and stage times over cached results.
"""

__version__ = "0.2.0"
