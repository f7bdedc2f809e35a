"""Small synthetic text tasks written in the classic GLUE layout, for offline smoke runs.

Three kinds cover the three task shapes of GLUE: a single-sentence classification
(``sentiment``), a sentence-pair classification (``topic_match``) and a sentence-pair
regression (``overlap``). A config names a synthetic task by giving ``custom_tasks.<name>``
a ``glue_dir`` equal to one of these kinds' folder names.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

from condpdiff.util.atomic import write_text

POSITIVE = ["good", "great", "lovely", "brilliant", "happy", "superb", "warm", "fine"]
NEGATIVE = ["bad", "awful", "dull", "boring", "sad", "poor", "cold", "weak"]
NEUTRAL = [
    "the",
    "film",
    "story",
    "actor",
    "scene",
    "plot",
    "music",
    "ending",
    "was",
    "and",
    "very",
    "quite",
]
TOPICS = {
    "animals": ["cat", "dog", "horse", "bird", "fish", "cow", "sheep", "goat"],
    "food": ["bread", "apple", "cheese", "rice", "soup", "cake", "pear", "milk"],
    "city": ["street", "bus", "tower", "bridge", "park", "shop", "train", "road"],
}
VOCABULARY = (
    POSITIVE
    + NEGATIVE
    + NEUTRAL
    + [w for ws in TOPICS.values() for w in ws]
    + ["sentence", "label"]
)


def _sentiment(rng: random.Random) -> tuple[list[str], str]:
    """One sentiment word among neutral ones decides the label (learnable by a tiny model)."""
    positive = rng.random() < 0.5
    words = [rng.choice(POSITIVE if positive else NEGATIVE)] + rng.choices(NEUTRAL, k=5)
    rng.shuffle(words)
    return [" ".join(words)], str(int(positive))


def _topic_match(rng: random.Random) -> tuple[list[str], str]:
    t1 = rng.choice(sorted(TOPICS))
    same = rng.random() < 0.5
    t2 = t1 if same else rng.choice(sorted(set(TOPICS) - {t1}))
    s1 = rng.sample(TOPICS[t1], 3) + rng.sample(NEUTRAL, 2)
    s2 = rng.sample(TOPICS[t2], 3) + rng.sample(NEUTRAL, 2)
    rng.shuffle(s1)
    rng.shuffle(s2)
    return [" ".join(s1), " ".join(s2)], str(int(same))


def _overlap(rng: random.Random) -> tuple[list[str], str]:
    pool = [w for ws in TOPICS.values() for w in ws]
    a = rng.sample(pool, 5)
    shared = rng.randint(0, 5)
    b = a[:shared] + rng.sample([w for w in pool if w not in a], 5 - shared)
    rng.shuffle(b)
    return [" ".join(a), " ".join(b)], f"{5.0 * shared / 5:.3f}"


KINDS = {
    "sentiment": (["sentence", "label"], _sentiment),
    "topic_match": (["sentence1", "sentence2", "label"], _topic_match),
    "overlap": (["sentence1", "sentence2", "score"], _overlap),
}


def write_kind(out_dir: Path, kind: str, sizes: dict[str, int], seed: int) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown synthetic task kind {kind!r}: expected one of {sorted(KINDS)}")
    header, make = KINDS[kind]
    for split, n in sizes.items():
        rng = random.Random(f"{seed}-{kind}-{split}")
        rows = ["\t".join(header)]
        for _ in range(n):
            texts, label = make(rng)
            rows.append("\t".join([*texts, label]))
        write_text(out_dir / kind / f"{split}.tsv", "\n".join(rows) + "\n")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--kind", required=True, choices=sorted(KINDS))
    p.add_argument(
        "--out-dir", required=True, help="GLUE-layout root; writes <out-dir>/<kind>/{train,dev}.tsv"
    )
    p.add_argument("--train-size", type=int, default=256)
    p.add_argument("--dev-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    write_kind(Path(a.out_dir), a.kind, {"train": a.train_size, "dev": a.dev_size}, a.seed)


if __name__ == "__main__":
    main()
