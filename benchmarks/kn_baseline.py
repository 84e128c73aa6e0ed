"""Baseline: a character 3-gram with interpolated Kneser-Ney smoothing, on the same training
split, vocabulary (<unk> for rare characters) and opening context (<collection><form>) as the LSTM.

    python -m benchmarks.kn_baseline [--corpus corpus] [--min-count 8] [--json]

Prints the validation character perplexity that the shipped model has to beat, overall and for
each subset of `poetgen.evaluate.subsets` (regulated Tang verse, each collection, each form).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections import Counter

from poetgen.corpus.splits import load_split
from poetgen.model.evaluate import subsets
from poetgen.model.tokenizer import Tokenizer


def discount(counts) -> float:
    n = Counter(c for c in counts if c <= 2)
    return n[1] / (n[1] + 2 * n[2]) if n[1] else 0.5


class KneserNey3:
    def __init__(self, seqs: list[list[int]], vocab_size: int):
        self.V = vocab_size
        tri: Counter = Counter()
        for s in seqs:
            for i in range(2, len(s)):
                tri[(s[i - 2], s[i - 1], s[i])] += 1
        ctx2: Counter = Counter()  # c(u v .)
        types2: Counter = Counter()  # |{w: c(u v w) > 0}|
        cont2: Counter = Counter()  # N1+(. v w)
        for (u, v, w), c in tri.items():
            ctx2[(u, v)] += c
            types2[(u, v)] += 1
            cont2[(v, w)] += 1
        ctx1: Counter = Counter()  # N1+(. v .)
        types1: Counter = Counter()  # |{w: N1+(. v w) > 0}|
        cont1: Counter = Counter()  # N1+(. w)
        for (v, w), c in cont2.items():
            ctx1[v] += c
            types1[v] += 1
            cont1[w] += 1
        self.tri, self.ctx2, self.types2 = tri, ctx2, types2
        self.cont2, self.ctx1, self.types1, self.cont1 = cont2, ctx1, types1, cont1
        self.d3, self.d2, self.d1 = discount(tri.values()), discount(cont2.values()), discount(cont1.values())
        self.total1 = sum(cont1.values())
        self.types0 = len(cont1)

    def p1(self, w: int) -> float:
        return (max(self.cont1[w] - self.d1, 0) + self.d1 * self.types0 / self.V) / self.total1

    def p2(self, v: int, w: int) -> float:
        n = self.ctx1[v]
        if not n:
            return self.p1(w)
        return (max(self.cont2[(v, w)] - self.d2, 0) + self.d2 * self.types1[v] * self.p1(w)) / n

    def p3(self, u: int, v: int, w: int) -> float:
        n = self.ctx2[(u, v)]
        if not n:
            return self.p2(v, w)
        return (max(self.tri[(u, v, w)] - self.d3, 0) + self.d3 * self.types2[(u, v)] * self.p2(v, w)) / n


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", default="corpus")
    parser.add_argument("--min-count", type=int, default=8, help="as the model's vocabulary (the shipped: 8)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    started = time.time()
    train_rows, valid_rows = load_split(args.corpus, "train"), load_split(args.corpus, "valid")
    tok = Tokenizer.build((r["text"] for r in train_rows), min_count=args.min_count,
                          tunes=[r.get("cipai", "") for r in train_rows])
    lm = KneserNey3([tok.encode(r["text"], opening=tok.row_opening(r)) for r in train_rows], len(tok))
    per_poem = []  # (summed NLL, characters) of each validation poem
    for r in valid_rows:
        s = tok.encode(r["text"], opening=tok.row_opening(r))
        nll = chars = 0
        for i in range(2, len(s)):
            if s[i] >= tok.first_char or s[i] == tok.unk:
                nll -= math.log(lm.p3(s[i - 2], s[i - 1], s[i]))
                chars += 1
        per_poem.append((nll, chars))
    report = {}
    for name, idx in subsets(valid_rows).items():
        nll, chars = sum(per_poem[i][0] for i in idx), sum(per_poem[i][1] for i in idx)
        if chars:
            report[name] = {"poems": len(idx), "chars": chars, "char_perplexity": round(math.exp(nll / chars), 2)}
    result = {
        "model": "char 3-gram, interpolated Kneser-Ney",
        "vocab_size": len(tok),
        "discounts": [round(lm.d1, 4), round(lm.d2, 4), round(lm.d3, 4)],
        "valid": report,
        "seconds": round(time.time() - started, 1),
    }
    print(json.dumps(result, ensure_ascii=False, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
