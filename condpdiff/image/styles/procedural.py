"""Procedural images for the offline smoke run: drawn shapes, and styles made by image operators.

Content images are coloured shapes (circle, square, triangle, stripes) on a plain background,
drawn with PIL at a seeded position and size; the caption names the shape and its colour
("a red circle"). A *style* is a fixed chain of PIL operators applied to every content image
(``OPERATORS``): different chains give image sets that a feature extractor tells apart, so
the whole image branch (LoRA per style, FID, cross-style check) runs without any file.
"""

from __future__ import annotations

import numpy as np

SHAPES = ("circle", "square", "triangle", "stripes")
COLOURS = {
    "red": (220, 40, 40),
    "green": (40, 180, 60),
    "blue": (50, 70, 220),
    "yellow": (230, 210, 40),
}


def _invert(img):
    from PIL import ImageOps

    return ImageOps.invert(img)


def _posterize(img):
    from PIL import ImageOps

    return ImageOps.posterize(img, 2)


def _sepia(img):
    from PIL import ImageOps

    return ImageOps.colorize(ImageOps.grayscale(img), (40, 20, 0), (250, 220, 160))


def _edges(img):
    from PIL import ImageFilter, ImageOps

    return ImageOps.autocontrast(img.filter(ImageFilter.FIND_EDGES))


def _swap(img):
    r, g, b = img.split()
    from PIL import Image

    return Image.merge("RGB", (b, r, g))


def _blur(img):
    from PIL import ImageFilter

    return img.filter(ImageFilter.GaussianBlur(2))


OPERATORS = {
    "invert": _invert,
    "posterize": _posterize,
    "sepia": _sepia,
    "edges": _edges,
    "swap": _swap,
    "blur": _blur,
}


def content_image(size: int, rng: np.random.Generator):
    """One seeded shape image and its caption."""
    from PIL import Image, ImageDraw

    shape = SHAPES[int(rng.integers(len(SHAPES)))]
    colour = list(COLOURS)[int(rng.integers(len(COLOURS)))]
    bg = tuple(int(v) for v in rng.integers(0, 90, 3))
    img = Image.new("RGB", (size, size), bg)
    draw = ImageDraw.Draw(img)
    r = int(rng.integers(size // 5, size // 2.5))
    cx, cy = (int(v) for v in rng.integers(r, size - r, 2))
    fill = COLOURS[colour]
    if shape == "circle":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fill)
    elif shape == "square":
        draw.rectangle([cx - r, cy - r, cx + r, cy + r], fill=fill)
    elif shape == "triangle":
        draw.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=fill)
    else:
        for x in range(0, size, max(2, r // 2)):
            draw.rectangle([x, 0, x + max(1, r // 4), size], fill=fill)
    return img, f"a {colour} {shape}"


def apply_style(img, operators: list[str]):
    """`img` through the named operators, in order."""
    unknown = [o for o in operators if o not in OPERATORS]
    if unknown:
        raise ValueError(f"unknown image operators {unknown}; known: {', '.join(OPERATORS)}")
    for name in operators:
        img = OPERATORS[name](img)
    return img.convert("RGB")
