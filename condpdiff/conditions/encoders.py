"""Condition encoders: a task's condition text (or its index) -> one float32 vector.

- ``clip``: an open_clip text encoder (ViT-B-32 / OpenAI weights by default). Its window is
  77 tokens, and a description plus two worked examples is longer, so the text is split
  into consecutive windows of 75 BPE tokens (plus start/end tokens); each window is
  encoded and L2-normalised, the window embeddings are mean-pooled and the mean is
  L2-normalised again. Every token is seen by exactly one window: nothing is cut.
- ``sentence``: a BERT-family encoder (hub id or local folder), mean-pooled over the
  attention mask; a text longer than the model's window is chunked the same way
  (windows of max_length - 2 tokens, normalised, mean-pooled, normalised).
- ``onehot``: the one-hot of the task's index in the config's task list.
- ``learnable``: the same one-hot, marked ``projection = table`` so the diffusion model maps
  it through a trainable embedding table rather than an MLP.
"""

from __future__ import annotations

import torch


def windows(ids: list[int], size: int) -> list[list[int]]:
    """Consecutive non-overlapping windows of at most `size` tokens covering all of `ids`."""
    if size < 1:
        raise ValueError(f"window size must be positive, got {size}")
    return [ids[i : i + size] for i in range(0, len(ids), size)] or [[]]


def _pool(chunks: torch.Tensor) -> torch.Tensor:
    """Mean of the L2-normalised chunk embeddings, L2-normalised."""
    chunks = torch.nn.functional.normalize(chunks.float(), dim=-1)
    return torch.nn.functional.normalize(chunks.mean(0), dim=-1)


class ClipTextEncoder:
    """open_clip text tower; `pretrained=None` builds random weights (tests, offline)."""

    def __init__(
        self, model: str = "ViT-B-32", pretrained: str | None = "openai", device: str = "cpu"
    ):
        import open_clip

        self.model, _, _ = open_clip.create_model_and_transforms(
            model, pretrained=pretrained, device=device
        )
        self.model.eval()
        self.tokenizer = open_clip.get_tokenizer(model)
        self.device, self.name = device, f"open_clip:{model}:{pretrained}"

    def token_windows(self, text: str) -> torch.Tensor:
        """[W, context_length] token ids: start + up to context-2 BPE tokens + end, zero padded."""
        tok = self.tokenizer
        clean = getattr(tok, "clean_fn", None)
        ids = tok.encode(clean(text) if clean else text)
        n = tok.context_length
        rows = []
        for w in windows(ids, n - 2):
            row = [tok.sot_token_id, *w, tok.eot_token_id]
            rows.append(row + [0] * (n - len(row)))
        return torch.tensor(rows, dtype=torch.long)

    @torch.no_grad()
    def __call__(self, text: str) -> torch.Tensor:
        return _pool(self.model.encode_text(self.token_windows(text).to(self.device)).cpu())


class SentenceEncoder:
    """A transformers encoder, mean-pooled over the attention mask, chunked to its window."""

    def __init__(self, model: str, device: str = "cpu", max_length: int | None = None):
        from transformers import AutoModel, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(model)
        self.model = AutoModel.from_pretrained(model).to(device).eval()
        limits = [
            max_length,
            getattr(self.model.config, "max_position_embeddings", None),
            self.tokenizer.model_max_length if self.tokenizer.model_max_length < 100_000 else None,
        ]
        self.max_length = min(x for x in limits if x)
        self.device, self.name = device, f"transformers:{model}"

    def token_windows(self, text: str) -> dict:
        """Windows wrapped in the model's start/end tokens ([CLS] .. [SEP] for BERT, <s> .. </s> for
        RoBERTa)."""
        tok = self.tokenizer
        ids = tok(text, add_special_tokens=False)["input_ids"]
        start = [
            t
            for t in (tok.cls_token_id if tok.cls_token_id is not None else tok.bos_token_id,)
            if t is not None
        ]
        end = [
            t
            for t in (tok.sep_token_id if tok.sep_token_id is not None else tok.eos_token_id,)
            if t is not None
        ]
        rows = [start + w + end for w in windows(ids, self.max_length - len(start) - len(end))]
        return tok.pad({"input_ids": rows}, return_tensors="pt")

    @torch.no_grad()
    def __call__(self, text: str) -> torch.Tensor:
        batch = {k: v.to(self.device) for k, v in self.token_windows(text).items()}
        hidden = self.model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        return _pool(((hidden * mask).sum(1) / mask.sum(1).clamp(min=1)).cpu())


def one_hot(task: str, tasks: list[str]) -> torch.Tensor:
    if task not in tasks:
        raise KeyError(f"task {task!r} is not in the task list {tasks}")
    v = torch.zeros(len(tasks))
    v[tasks.index(task)] = 1.0
    return v
