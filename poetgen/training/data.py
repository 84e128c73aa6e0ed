"""Training data: each poem as ids (read backward for a backward model), windows for
long ones, and endless batches of similar lengths that are a pure function of
(seed, step), so a resumed run continues at exactly its batch."""

from __future__ import annotations

import math

import numpy as np

from ..model.evaluate import pad_batch
from ..model.tokenizer import PAD, SPECIALS, Tokenizer

PAD_ID = SPECIALS.index(PAD)


# ---------------------------------------------------------------------------- data

def encode_corpus(rows: list[dict], tokenizer: Tokenizer, max_len: int, reverse: bool = False) -> list[np.ndarray]:
    """One id sequence per poem (read backward when `reverse`); poems longer than max_len+1
    become windows at couplet ends, each opening with <bos> and the poem's opening tokens, only
    the last one closing with <eos>."""
    seqs = []
    for row in rows:
        text, opening = row["text"], tokenizer.row_opening(row)
        if reverse:  # windows of the reversed text: the first window holds the poem's end
            text = text[::-1]
        budget = max_len - len(opening)  # room for <bos>, the opening and the next-token shift
        pieces, start = [], 0
        while len(text) - start > budget:
            cut = text.rfind("。", start, start + budget) + 1
            if cut <= start:
                cut = start + budget
            pieces.append(text[start:cut])
            start = cut
        pieces.append(text[start:])
        for i, piece in enumerate(pieces):
            ids = tokenizer.encode(piece, opening=opening, eos=i == len(pieces) - 1)
            seqs.append(np.asarray(ids, dtype=np.int32))
    return seqs


def batch_plan(lengths: np.ndarray, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Index batches of sequences of similar length, so padding costs almost nothing."""
    order = rng.permutation(len(lengths))
    order = order[np.argsort(lengths[order], kind="stable")]
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    rng.shuffle(batches)
    return batches


def batches_from(seqs: list[np.ndarray], batch_size: int, seed: int, start_step: int, pad: int):
    """Endless (inputs, targets) batches; pass k is shuffled by (seed, k), so a resumed run
    continues at exactly the batch where it stopped."""
    lengths = np.array([len(s) for s in seqs])
    per_pass = math.ceil(len(seqs) / batch_size)
    step = start_step
    while True:
        epoch_pass, offset = divmod(step, per_pass)
        plan = batch_plan(lengths, batch_size, np.random.default_rng([seed, epoch_pass]))
        for idx in plan[offset:]:
            batch = pad_batch([seqs[i] for i in idx], pad)
            yield batch[:, :-1], batch[:, 1:]
            step += 1
