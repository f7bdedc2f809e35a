"""Build a tiny randomly initialised BERT with its own word-piece tokenizer, offline.

Smoke runs and CI need a backbone with no network and no files: this writes a folder that
``AutoModel*.from_pretrained`` and ``AutoTokenizer.from_pretrained`` load like any hub model.
The vocabulary is the synthetic tasks' words plus single characters, so any text tokenises.
"""

from __future__ import annotations

import argparse
import string
from dataclasses import dataclass

import torch

from condpdiff.text.make_synthetic_task import VOCABULARY
from condpdiff.util import cli
from condpdiff.util.atomic import atomic_dir

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


@dataclass
class TinyBertConfig:
    hidden_size: int = 32
    num_layers: int = 2
    num_heads: int = 2
    intermediate_size: int = 64
    seed: int = 0


def vocabulary() -> list[str]:
    chars = list(string.ascii_lowercase + string.digits + string.punctuation)
    words = sorted(set(VOCABULARY) - set(chars))
    return SPECIAL + chars + [f"##{c}" for c in string.ascii_lowercase + string.digits] + words


def _tokenizer(cls, words: list[str]):
    """A word-piece tokenizer over `words` (transformers 5 takes the vocab itself, 4.x a file)."""
    import inspect
    import tempfile

    if "vocab" in inspect.signature(cls.__init__).parameters:
        return cls(vocab={w: i for i, w in enumerate(words)}, do_lower_case=True)
    with tempfile.TemporaryDirectory() as d:
        path = f"{d}/vocab.txt"
        with open(path, "w") as fh:
            fh.write("\n".join(words) + "\n")
        return cls(vocab_file=path, do_lower_case=True)


def build(out_dir: str, cfg: TinyBertConfig) -> None:
    from transformers import BertConfig, BertModel, BertTokenizerFast

    with atomic_dir(out_dir) as tmp:
        tok = _tokenizer(BertTokenizerFast, vocabulary())
        tok.save_pretrained(tmp)
        torch.manual_seed(cfg.seed)
        model = BertModel(
            BertConfig(
                vocab_size=len(vocabulary()),
                hidden_size=cfg.hidden_size,
                num_hidden_layers=cfg.num_layers,
                num_attention_heads=cfg.num_heads,
                intermediate_size=cfg.intermediate_size,
                max_position_embeddings=128,
            )
        )
        model.save_pretrained(tmp)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--out", required=True, help="output folder")
    cli.add_dataclass_args(p, TinyBertConfig)
    a = p.parse_args(argv)
    build(a.out, cli.dataclass_from_args(TinyBertConfig, a))


if __name__ == "__main__":
    main()
