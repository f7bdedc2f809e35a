"""The image branch: style LoRAs on PixArt-alpha, scored by FID (docs/image.md, docs/method.md
section 8). One subpackage per concept; rule <name> runs ``<subpackage>.<name>``:

- ``styles``: style folders (made offline or given), the seeded train / FID-reference split
  file and the style's image condition (its train images through a frozen ResNet-18);
- ``base``: the PixArt-alpha base (hub id or local folder; a tiny one built and pretrained
  offline), its shared training pieces and the prompt cache (T5 loaded by one job only);
- ``lora``: LoRA fine-tuning of the base on one style, harvesting the last checkpoints;
- ``fid``: torch-fidelity extractors, cached image features, FID score caches, style screen;
- ``generation``: images of every parameter row (or the base alone) kept as FID features,
  and Table 2's arms regenerated at another seed or drawn as a figure;
- ``interpolation``: LoRAs between two styles scored against both (target ``interpolation``);
- ``generalisation``: the style-continuous set of the paper's appendix C (target
  ``generalisation``), with its own generator training and scores;
- ``args``: the command-line flags the entry points share.

This package may import ``util``, ``pipeline``, ``params``, ``conditions`` and ``generator``;
it never imports ``text`` (and ``text`` never imports it).
"""
