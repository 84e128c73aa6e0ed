"""How well the search's score foresees the readers: over the machine poems of rated panels, the
Spearman correlation of the default score, and of each of its parts, with the readers' mean
overall rating; then a ridge regression on the parts, fitted on all panels but one and tested on
that one in turn (would other weights choose better?).

    python -m benchmarks.score_vs_readers --model /tmp/bw10/poetgen-lstm512 \\
        /tmp/readers/r61 /tmp/readers/r71 ... (each a panel: key.json, with its readers' ratings
        in the sibling folders NAME?/ratings.jsonl, as the panels of benchmarks/README.md were run)
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from poetgen import Poet
from poetgen.writing.penalties import faults
from poetgen.writing.scoring import weakest
from poetgen.writing.search import READERS

from .readers import CRITERIA, HUMAN, load_key, read_ratings

PARTS = ("forward", "backward", "weak", "gain", "repeats", "clash", "rhyme_places", "weakest_line", "rare")


def panel_rows(panel: Path) -> list[tuple[dict, float]]:
    key = load_key(panel)
    numbers = {int(k) for k in key["items"]}
    readers = [read_ratings(p, numbers) for p in sorted(panel.parent.glob(panel.name + "?/ratings.jsonl"))]
    return [(item, statistics.fmean(sum(r[int(n)][c] for c in CRITERIA) / len(CRITERIA) for r in readers))
            for n, item in key["items"].items() if readers and item["form"] != "其他"]


def parts(poet: Poet, item: dict) -> dict[str, float]:
    tok, scorer, text = poet.tokenizer, poet.scorer, item["text"]
    collection = item.get("collection") or ("宋词" if item["form"] == "词" else "唐诗")
    opening = tok.opening(item["form"], collection, item["cipai"])
    in_poem = scorer.char_logprobs([text], opening)
    forward, backward = (lp[0][~np.isnan(lp[0])] for lp in in_poem)
    both = forward + backward
    ends, k = [], 0
    for ch in text:
        if ch in "，。？！；、":
            ends.append(k - 1)
        else:
            k += 1
    repeats, clash = faults(text)
    return {"forward": forward.mean(), "backward": backward.mean(), "weak": float(weakest(both[None, :])[0]),
            "gain": float(scorer.line_gains([text], opening, in_poem)[0]), "repeats": repeats,
            "clash": float(clash), "rhyme_places": both[ends].mean(),
            "weakest_line": min(both[max(0, e - 4): e + 1].mean() for e in ends), "rare": float((both < -14).sum())}


def ridge(x: np.ndarray, y: np.ndarray, lam: float = 5.0) -> np.ndarray:
    mu, sd = x.mean(0), x.std(0) + 1e-9
    z = (x - mu) / sd
    return np.linalg.solve(z.T @ z + lam * np.eye(z.shape[1]), z.T @ (y - y.mean())) / sd


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="forward model directory, its backward partner beside it")
    parser.add_argument("panels", nargs="+", type=Path)
    args = parser.parse_args(argv)
    poet = Poet.load(args.model)
    rows = [(panel.name, item, mean) for panel in args.panels for item, mean in panel_rows(panel)]
    x = np.array([[parts(poet, item)[p] for p in PARTS] for _, item, _ in rows])
    y = np.array([mean for *_, mean in rows])
    human = np.array([item["source"] == HUMAN for _, item, _ in rows])
    panels = np.array([name for name, *_ in rows])
    w = READERS
    default = x[:, 0] + x[:, 1] + w.weak * x[:, 2] + w.line_gain * x[:, 3] - w.repeat * x[:, 4] - w.season * x[:, 5]
    m = ~human
    print(f"{m.sum()} machine poems, {human.sum()} poets', {len(set(panels))} panels")
    print(f"default score: Spearman {spearmanr(default[m], y[m])[0]:+.2f} over the machine poems, "
          f"{spearmanr(default, y)[0]:+.2f} over all; mean score poets {default[human].mean():.1f}, "
          f"machine {default[m].mean():.1f}")
    for i, name in enumerate(PARTS):
        print(f"  {name:13s} {spearmanr(x[m, i], y[m])[0]:+.2f}")
    predicted = np.zeros(m.sum())
    xm, ym, pm = x[m], y[m], panels[m]
    for panel in set(pm):
        held = pm == panel
        predicted[held] = xm[held] @ ridge(xm[~held], ym[~held])
    print(f"ridge on all the parts, each panel foreseen from the others: Spearman {spearmanr(predicted, ym)[0]:+.2f}")


if __name__ == "__main__":
    main()
