"""Scoring: per-token negative log-likelihood, perplexity, and `poetgen evaluate`."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import tensorflow as tf

from ..corpus.prepare import COLLECTIONS, ToTraditional, clean_row, read_poems
from ..errors import CorpusError
from ..text.forms import CI, FORMS, SONG, SONGCI, TANG
from .loss import token_cross_entropy
from .tokenizer import Tokenizer


def pad_batch(seqs: list[np.ndarray], pad: int) -> np.ndarray:
    width = max(len(s) for s in seqs)
    out = np.full((len(seqs), width), pad, dtype=np.int32)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = s
    return out


@tf.function(reduce_retracing=True)
def _token_nll(model, inputs, targets):
    return token_cross_entropy(targets, tf.cast(model(inputs, training=False), tf.float32))


def token_nll(model, seqs: list[np.ndarray], pad: int, batch_tokens: int = 16384,
              progress: bool = False) -> list[np.ndarray]:
    """Negative log-likelihood of every token after the first, per sequence (float64 arrays).
    progress: a bar on a terminal (tqdm; none when standard error is not a terminal)."""
    from tqdm import tqdm

    order = np.argsort([-len(s) for s in seqs], kind="stable")  # longest first: width known
    out: list[np.ndarray | None] = [None] * len(seqs)
    bar = tqdm(total=len(seqs), desc="scoring", unit="poem", disable=None if progress else True)
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
        bar.update(len(idx))
    bar.close()
    return out


def validation_perplexity(model, seqs, tokenizer: Tokenizer, progress: bool = False) -> dict:
    """Per-token and per-character perplexity, conditioned on <bos> and the opening tokens."""
    return _perplexity(seqs, token_nll(model, seqs, tokenizer.pad, progress=progress), tokenizer)


def _perplexity(seqs, nlls, tokenizer: Tokenizer) -> dict:
    total = char_total = 0.0
    tokens = chars = 0
    for seq, nll in zip(seqs, nlls):
        targets = seq[1:]
        # The opening (collection, form or tune) is given, not predicted.
        is_text = (targets >= tokenizer.n_special) | (targets == tokenizer.eos) | (targets == tokenizer.unk)
        is_char = (targets >= tokenizer.first_char) | (targets == tokenizer.unk)
        total += nll[is_text].sum()
        tokens += int(is_text.sum())
        char_total += nll[is_char].sum()
        chars += int(is_char.sum())
    return {
        "token_perplexity": math.exp(total / max(tokens, 1)),
        "char_perplexity": math.exp(char_total / max(chars, 1)),
        "tokens": tokens,
        "chars": chars,
    }


REGULATED_TANG = "唐诗 五绝/七绝/五律/七律"


def subsets(rows: list[dict]) -> dict[str, list[int]]:
    """Row indices of the subsets reported: the regulated Tang poems (the figure the issue
    targets), each collection, each form of the shi, and everything."""
    groups: dict[str, list[int]] = {"all": list(range(len(rows))), REGULATED_TANG: []}
    for i, row in enumerate(rows):
        collection = row.get("collection", TANG)
        if collection == TANG and row["form"] in FORMS:
            groups[REGULATED_TANG].append(i)
        groups.setdefault(collection, []).append(i)
        if row["form"] != CI:
            groups.setdefault(f"{collection} {row['form']}", []).append(i)
    return groups


def perplexity_by_subset(model, tokenizer: Tokenizer, seqs: list[np.ndarray],
                         groups: dict[str, list[int]], progress: bool = False) -> dict[str, dict]:
    """Perplexity of each group of sequences (indices), from one pass over all of them."""
    nlls = token_nll(model, seqs, tokenizer.pad, progress=progress)
    return {name: {"poems": len(idx), **_perplexity([seqs[i] for i in idx], [nlls[i] for i in idx], tokenizer)}
            for name, idx in groups.items() if idx}


def split_perplexity(model, tokenizer: Tokenizer, rows: list[dict], progress: bool = False,
                     reverse: bool = False) -> dict[str, dict]:
    """Perplexity of corpus rows, overall and for each subset (`subsets`); `reverse` for a
    backward model (each poem read from its end)."""
    seqs = [np.asarray(tokenizer.encode(r["text"], opening=tokenizer.row_opening(r), reverse=reverse), np.int32)
            for r in rows]
    return perplexity_by_subset(model, tokenizer, seqs, subsets(rows), progress)


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


def collection_of_file(path: Path) -> str:
    """The dataset's own file names say the collection (poet.song.N.json, ci.song.N.json)."""
    name = path.name
    return SONGCI if name.startswith("ci.") else SONG if name.startswith("poet.song") else TANG


def evaluate_poems(model, tokenizer: Tokenizer, path: str | Path, progress: bool = False,
                   reverse: bool = False) -> dict:
    """Perplexity of chinese-poetry JSON poems, cleaned exactly as the corpus is (ci converted
    to traditional characters), each under its collection's opening."""
    seqs, oov, skipped = [], 0, 0
    to_traditional = None
    for file in poem_files(path):
        collection = collection_of_file(file)
        if COLLECTIONS[collection][2] and to_traditional is None:
            to_traditional = ToTraditional()
        for poem in read_poems(file):
            row, _ = clean_row(poem, collection, to_traditional if COLLECTIONS[collection][2] else None)
            if row is None:
                skipped += 1
                continue
            oov += sum(1 for ch in row["text"] if ch not in tokenizer.index)
            seqs.append(np.asarray(tokenizer.encode(row["text"], opening=tokenizer.row_opening(row), reverse=reverse),
                                   np.int32))
    if not seqs:
        raise CorpusError(f"no scorable poems in {path}")
    result = validation_perplexity(model, seqs, tokenizer, progress)
    return {
        "poems": len(seqs),
        "skipped_poems": skipped,
        "chars": result["chars"],
        "oov_chars": oov,
        "char_perplexity": result["char_perplexity"],
        "token_perplexity": result["token_perplexity"],
    }
