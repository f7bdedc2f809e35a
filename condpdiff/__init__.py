"""condpdiff: conditional latent diffusion over LoRA weights (Cond P-Diff).

Subpackages, lowest first (a package imports only those above it in this list, and text /
image never import each other):

- ``util``: atomic writes, command-line plumbing;
- ``pipeline``: what the Snakefile imports (config check, names, artifact paths, code hash,
  table targets); imports no torch;
- ``params``: the parameter file format and normalisation statistics;
- ``conditions``: condition files and encoders;
- ``generator``: shared generator utilities, and one subpackage per generator kind (``pdiff``);
- ``text``: GLUE tasks, backbones, LoRA fine-tuning, scoring, adapter export;
- ``evaluate``: table cells (selection, baselines) and tables, direction-aware;
- ``analysis``: diagnoses and stage times over cached results.
"""

__version__ = "0.2.0"
