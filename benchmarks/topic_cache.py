"""Does the forward model under-use what a poem has already said? A perplexity test, no readers.

Readers fault lines that do not connect: a new scene every line. If the model under-used the
poem's own topic, adding to each next character's logit a pull toward the characters already
written (their embeddings' direction: a "topic cache", after the cache language models) would
lower the validation perplexity of real poems. This measures that on held-out poems for a few
pull strengths, with the pull taken from the input embedding or from the output layer's rows,
and, separately, a plain repeat cache (a bonus per earlier occurrence of the same character).

    python -m benchmarks.topic_cache --poems 1500

Prints the character perplexity per setting; 0 is the model as it is.
"""

from __future__ import annotations

import argparse
import math

import numpy as np
import tensorflow as tf

from poetgen.corpus.splits import load_split
from poetgen.defaults import default_corpus_dir, default_model_dir
from poetgen.model.evaluate import pad_batch
from poetgen.model.network import load_model_dir


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    return matrix / (np.linalg.norm(matrix, axis=1, keepdims=True) + 1e-9)


def history_mean(unit: np.ndarray, seq: np.ndarray, is_char: np.ndarray) -> np.ndarray:
    """For each position t (predicting seq[t + 1]), the mean unit vector of the characters among
    seq[: t + 1]; zero before the first character."""
    vecs = np.where(is_char[:, None], unit[seq], 0.0)
    sums = np.cumsum(vecs, axis=0)
    counts = np.maximum(np.cumsum(is_char), 1)[:, None]
    return sums / counts


def log_softmax(x: np.ndarray) -> np.ndarray:
    x = x - x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--corpus", default=None)
    parser.add_argument("--poems", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--strengths", default="0.25,0.5,1,2,3")
    args = parser.parse_args(argv)
    model, config, tok = load_model_dir(args.model or default_model_dir())
    rows = load_split(args.corpus or default_corpus_dir(), "valid")
    pick = np.random.default_rng(args.seed).choice(len(rows), size=min(args.poems, len(rows)), replace=False)
    seqs = [np.asarray(tok.encode(rows[i]["text"], opening=tok.row_opening(rows[i])), np.int32) for i in pick]
    spaces = {"input": unit_rows(model.get_layer("embedding").get_weights()[0]),
              "output": unit_rows(model.get_layer("logits").get_weights()[0].T)}
    strengths = [float(s) for s in args.strengths.split(",")]
    settings = [("none", "", 0.0)] + [(space, "topic", s) for space in spaces for s in strengths] + \
        [("same", "repeat", s) for s in (-1.0, -0.5, 0.25, 0.5)]
    totals = dict.fromkeys(settings, 0.0)
    chars = 0
    for start in range(0, len(seqs), 64):
        batch = seqs[start:start + 64]
        padded = pad_batch(batch, tok.pad)
        logits = model(tf.constant(padded[:, :-1]), training=False).numpy().astype(np.float64)
        for row, seq in enumerate(batch):
            inputs, targets = seq[:-1], seq[1:]
            is_char_in = inputs >= tok.first_char
            scored = targets >= tok.first_char
            lg = logits[row, : len(targets)]
            seen = np.zeros_like(lg)
            for t in range(len(inputs)):  # counts of each character among seq[: t + 1]
                if t:
                    seen[t] = seen[t - 1]
                if is_char_in[t]:
                    seen[t, inputs[t]] += 1
            means = {name: history_mean(unit, inputs, is_char_in) for name, unit in spaces.items()}
            for key in settings:
                space, kind, s = key
                if kind == "topic":
                    biased = lg + s * (means[space] @ spaces[space].T)
                elif kind == "repeat":
                    biased = lg + s * seen
                else:
                    biased = lg
                lp = log_softmax(biased)[np.arange(len(targets)), targets]
                totals[key] -= lp[scored].sum()
            chars += int(scored.sum())
    base = math.exp(totals[settings[0]] / chars)
    print(f"{len(seqs)} validation poems, {chars} characters; the model as it is: {base:.2f}")
    for key in settings[1:]:
        ppl = math.exp(totals[key] / chars)
        print(f"{key[1]:6} {key[0]:6} strength {key[2]:+.2f}: {ppl:.2f} ({ppl / base - 1:+.2%})")


if __name__ == "__main__":
    main()
