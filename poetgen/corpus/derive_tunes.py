"""The 词谱 derived from the ci of the corpus: the pattern of each 词牌 that verse/tunes.py reads.

No package offers tune patterns, so they are read off the Song ci themselves
(`python -m poetgen.corpus.derive_tunes --corpus corpus --out poetgen/data/cipu.json`, byte-identical for
the same corpus). For each tune with at least MIN_POEMS ci:

- **shape**: the most common sequence of line lengths among its ci (variant shapes, 又一体, are
  counted and their share reported, not kept); each line's mark (，/。) by majority;
- **tones**: a position is 平 (仄) where at least AGREE of the ci whose character there has one
  certain tone in 平水韵 have 平 (仄); otherwise 中 (either). 多音字 count for neither side;
- **rhymes**: a line end rhymes where, in at least RHYME_AGREE of the ci, its character shares a
  词林正韵 部 with another line end; line ends that rhyme with each other that often form one
  rhyme chain (韵段: 菩萨蛮 has four, 西江月 one whose 平 and 仄 ends share a 部). A rhyme
  position's tone is the majority's (平 or 仄), never 中;
- **stanzas**: the corpus does not mark 上下阕, so the break is put where the two halves share
  the longest run of final lines (most tunes repeat their 上阕's close in the 下阕); see
  `_stanza_break` for tunes without such a repeat. The break only lays the ci out.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

from ..text.forms import CI, UNKNOWN_TUNE, split_lines
from ..verse.ci_rhymes import bu_of
from ..verse.pingshui import EITHER, PING, ZE, RhymeTable, rhyme_table
from ..verse.tunes import DATA_FILE, FORMAT, MAX_VARIANTS, CiPattern

MIN_POEMS = 20  # ci of a tune, for a pattern
MIN_SHAPE_POEMS = 10  # ci of the tune's most common shape: fewer give tones by chance
AGREE = 0.8  # share of certain tones that fixes a position
RHYME_AGREE = 0.5  # share of ci in which two line ends share a 部
TWO_STANZAS = 40  # characters from which a tune with no repeated close is still 双调
UNTITLED = {"", UNKNOWN_TUNE}


# ----------------------------------------------------------------------------- derivation

def _tone_counts(texts: list[list[str]], table: RhymeTable, lengths) -> list[list[Counter]]:
    counts = [[Counter() for _ in range(n)] for n in lengths]
    for lines in texts:
        for i, line in enumerate(lines):
            for j, ch in enumerate(line):
                counts[i][j][table.tone(ch)] += 1
    return counts


def _tone_of(count: Counter, agree: float, forced: bool) -> str:
    ping, ze = count[PING], count[ZE]
    if ping + ze == 0:
        return PING if forced else EITHER
    if forced:
        return PING if ping >= ze else ZE
    share = ping / (ping + ze)
    return PING if share >= agree else ZE if share <= 1 - agree else EITHER


def _chains(texts: list[list[str]], table: RhymeTable, agree: float) -> list[int]:
    """Rhyme chain per line end (or -1): line ends joined when they share a 部 often enough."""
    n = len(texts[0])
    shared = [[0] * n for _ in range(n)]
    for lines in texts:
        parts = [set().union(*bu_of(table, line[-1])) for line in lines]
        for i in range(n):
            for j in range(i + 1, n):
                if parts[i] & parts[j]:
                    shared[i][j] += 1
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    rhymed = set()
    for i in range(n):
        for j in range(i + 1, n):
            if shared[i][j] >= agree * len(texts):
                parent[root(j)] = root(i)
                rhymed |= {i, j}
    ids: dict[int, int] = {}
    return [ids.setdefault(root(i), len(ids)) if i in rhymed else -1 for i in range(n)]


def _same_line(a: tuple[str, bool], b: tuple[str, bool]) -> bool:
    """Two lines of a pattern alike: same length and rhyme, no position 平 in one and 仄 in the other."""
    return len(a[0]) == len(b[0]) and a[1] == b[1] and all(
        EITHER in (x, y) or x == y for x, y in zip(a[0], b[0]))


def _stanza_break(tones: tuple[str, ...], chains: list[int]) -> int:
    """The line opening the 下阕: after a rhyme, where the halves end in the longest common run
    of alike lines, nearest the middle on a tie. With no run of two lines, a tune of
    TWO_STANZAS characters or more breaks at the rhyme nearest its middle (清平乐 changes its
    rhyme there); a shorter one is one stanza (如梦令)."""
    key = [(t, c >= 0) for t, c in zip(tones, chains)]
    sizes = [len(t) for t in tones]
    middle = sum(sizes) / 2

    def off_middle(k: int) -> float:
        return abs(sum(sizes[:k]) - middle)

    best, best_run = 0, 1
    for k in range(2, len(key) - 1):
        if chains[k - 1] < 0:
            continue
        run = 0
        while run < min(k, len(key) - k) and _same_line(key[k - 1 - run], key[-1 - run]):
            run += 1
        if run > best_run or (run == best_run and best and off_middle(k) < off_middle(best)):
            best, best_run = k, run
    if best or sum(sizes) < TWO_STANZAS:
        return best
    ends = [k for k in range(2, len(key) - 1) if chains[k - 1] >= 0]
    return min(ends, key=off_middle, default=0)


def derive_tune(name: str, texts: list[str], table: RhymeTable, agree: float = AGREE,
                rhyme_agree: float = RHYME_AGREE, min_shape: int = MIN_SHAPE_POEMS) -> list[CiPattern]:
    """The patterns of one tune from its ci (traditional characters, lines marked ，。): one per
    shape written at least `min_shape` times, most written first (up to MAX_VARIANTS)."""
    split = [split_lines(t) for t in texts]
    shapes = Counter(tuple(len(line) for line in lines) for lines in split)
    out = []
    for lengths, count in shapes.most_common(MAX_VARIANTS):
        if count < min_shape:
            break
        chosen, chosen_lines = zip(*[(t, lines) for t, lines in zip(texts, split)
                                     if tuple(len(x) for x in lines) == lengths])
        ends = [[mark for mark in t if mark in "，。"] for t in chosen]
        marks = "".join(Counter(e[i] for e in ends).most_common(1)[0][0] for i in range(len(lengths)))
        chains = _chains(chosen_lines, table, rhyme_agree)
        counts = _tone_counts(chosen_lines, table, lengths)
        tones = tuple("".join(_tone_of(c, agree, forced=(j == n - 1 and chains[i] >= 0)) for j, c in enumerate(line))
                      for i, (line, n) in enumerate(zip(counts, lengths)))
        out.append(CiPattern(name=name, lengths=lengths, marks=marks, stanza=_stanza_break(tones, chains),
                             tones=tones, chains=tuple(chains), poems=len(texts),
                             shape_share=round(count / len(texts), 4), variant=len(out)))
    return out


def derive(rows: list[dict], table: RhymeTable | None = None, min_poems: int = MIN_POEMS) -> dict:
    """Patterns of every tune with at least `min_poems` ci among corpus rows, with coverage."""
    table = table or rhyme_table()
    by_tune: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        if row.get("form") == CI and row.get("cipai") not in UNTITLED:
            by_tune[row["cipai"]].append(row["text"])
    tunes = sorted((n for n, t in by_tune.items() if len(t) >= min_poems), key=lambda n: (-len(by_tune[n]), n))
    variants = [v for v in (derive_tune(n, by_tune[n], table) for n in tunes) if v]
    patterns = [v[0] for v in variants]
    total = sum(len(t) for t in by_tune.values())
    in_shape = sum(round(p.poems * p.shape_share) for v in variants for p in v)
    return {
        "format": FORMAT,
        "thresholds": {"min_poems": min_poems, "min_shape_poems": MIN_SHAPE_POEMS, "agree": AGREE,
                       "rhyme_agree": RHYME_AGREE, "max_variants": MAX_VARIANTS},
        "coverage": {"tunes": len(patterns), "tunes_in_corpus": len(by_tune), "ci": total,
                     "variants": sum(len(v) for v in variants),
                     "ci_of_these_tunes": sum(p.poems for p in patterns), "ci_in_their_shapes": in_shape,
                     "share_of_tunes": round(sum(p.poems for p in patterns) / max(total, 1), 4),
                     "share_in_shape": round(in_shape / max(total, 1), 4)},
        "tunes": [[p.to_dict() for p in v] for v in variants],
    }


def main(argv: list[str] | None = None) -> None:
    import argparse
    import os

    from .splits import load_split

    parser = argparse.ArgumentParser(prog="python -m poetgen.corpus.derive_tunes", description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="corpus", help="a corpus made by `poetgen prepare`")
    parser.add_argument("--out", default=str(DATA_FILE))
    args = parser.parse_args(argv)
    rows = load_split(args.corpus, "train") + load_split(args.corpus, "valid")
    data = derive(rows)
    text = json.dumps(data, ensure_ascii=False, indent=1) + "\n"
    tmp = Path(args.out).with_suffix(".tmp")
    tmp.parent.mkdir(parents=True, exist_ok=True)
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, args.out)
    print(json.dumps(data["coverage"], ensure_ascii=False))


if __name__ == "__main__":
    main()
