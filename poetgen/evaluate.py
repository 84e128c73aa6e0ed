"""Scoring: per-token negative log-likelihood, perplexity, and `poetgen evaluate`."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import tensorflow as tf

from .corpus import normalize_poem, read_poems
from .errors import CorpusError
from .tokenizer import Tokenizer


def pad_batch(seqs: list[np.ndarray], pad: int) -> np.ndarray:
    width = max(len(s) for s in seqs)
    out = np.full((len(seqs), width), pad, dtype=np.int32)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = s
    return out


@tf.function(reduce_retracing=True)
def _token_nll(model, inputs, targets):
    logits = tf.cast(model(inputs, training=False), tf.float32)
    picked = tf.gather(logits, targets, batch_dims=2)
    return tf.reduce_logsumexp(logits, axis=-1) - picked


def token_nll(model, seqs: list[np.ndarray], pad: int, batch_tokens: int = 16384) -> list[np.ndarray]:
    """Negative log-likelihood of every token after the first, per sequence (float64 arrays)."""
    order = np.argsort([-len(s) for s in seqs], kind="stable")  # longest first: width known
    out: list[np.ndarray | None] = [None] * len(seqs)
    i = 0
    while i < len(order):
        width = len(seqs[order[i]])
        n = max(1, batch_tokens // max(width, 1))
        idx = order[i : i + n]
        batch = pad_batch([seqs[j] for j in idx], pad)
        nll = _token_nll(model, tf.constant(batch[:, :-1]), tf.constant(batch[:, 1:])).numpy()
        for row, j in enumerate(idx):
            out[j] = nll[row, : len(seqs[j]) - 1].astype(np.float64)
        i += n
    return out


def validation_perplexity(model, seqs, tokenizer: Tokenizer) -> dict:
    """Per-token and per-character perplexity, conditioned on <bos><form>."""
    nlls = token_nll(model, seqs, tokenizer.pad)
    total = chars = 0.0
    char_total = 0.0
    tokens = 0
    for seq, nll in zip(seqs, nlls):
        targets, nll = seq[2:], nll[1:]  # the form token is given, not predicted
        is_char = (targets >= tokenizer.first_char) | (targets == tokenizer.unk)
        total += nll.sum()
        tokens += len(nll)
        char_total += nll[is_char].sum()
        chars += is_char.sum()
    return {
        "token_perplexity": math.exp(total / max(tokens, 1)),
        "char_perplexity": math.exp(char_total / max(chars, 1)),
        "tokens": int(tokens),
        "chars": int(chars),
    }



def poem_files(path: str | Path) -> list[Path]:
    path = Path(path)
    if path.is_file():
        return [path]
    if path.is_dir():
        files = sorted(path.glob("*.json"))
        if files:
            return files
        raise CorpusError(f"no .json files in {path}")
    raise CorpusError(f"poems file or folder not found: {path}")


def evaluate_poems(model, tokenizer: Tokenizer, path: str | Path) -> dict:
    """Perplexity of chinese-poetry JSON poems, normalized exactly as the corpus is."""
    seqs, oov, skipped = [], 0, 0
    for file in poem_files(path):
        for poem in read_poems(file):
            text, form, _ = normalize_poem(poem["paragraphs"])
            if text is None:
                skipped += 1
                continue
            oov += sum(1 for ch in text if ch not in tokenizer.index)
            seqs.append(np.asarray(tokenizer.encode(text, form=form), np.int32))
    if not seqs:
        raise CorpusError(f"no scorable poems in {path}")
    result = validation_perplexity(model, seqs, tokenizer)
    return {
        "poems": len(seqs),
        "skipped_poems": skipped,
        "chars": result["chars"],
        "oov_chars": oov,
        "char_perplexity": result["char_perplexity"],
        "token_perplexity": result["token_perplexity"],
    }
