"""Repair against known breakages: validation poems that hold their 格律, each with 1-3
characters at fixed-tone places (or the rhyme) changed at random to break the rules, then
`Poet.repair`. Targets (readers' issue): 合律 again on >= 95%, with no more changes than were
made, and the original character chosen at least a third of the time.

    python -m benchmarks.repair [--poems 200] [--seed 1] [--model DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time

from poetgen import Poet
from poetgen.corpus.splits import load_split
from poetgen.errors import GenerationError
from poetgen.text.forms import FORMS
from poetgen.verse.check import check_text
from poetgen.verse.pingshui import PING, ZE

MARKS = "，。"


def breakable_places(report) -> list[tuple[int, int]]:
    """Places whose change can break the poem: fixed tones and the rhymes."""
    rhymes = {(i, len(report.tones[i]) - 1) for i in report.rhyme_lines}
    tones = {(i, j) for i, line in enumerate(report.expected) for j, t in enumerate(line) if t in (PING, ZE)}
    return sorted(rhymes | tones)


def break_poem(text: str, poet: Poet, rng: random.Random, by_tone: dict) -> tuple[str, dict] | None:
    """(the broken text, {place: original character}), or None when the changes happen to hold."""
    report = check_text(text, poet.table)
    lengths = [len(t) for t in report.tones]
    chars = [ch for ch in text if ch not in MARKS]
    originals = {}
    for i, j in rng.sample(breakable_places(report), rng.randint(1, 3)):
        k = sum(lengths[:i]) + j
        wanted = report.expected[i][j] if report.expected[i][j] in (PING, ZE) else PING
        other = ZE if wanted == PING else PING
        originals[(i, j)] = chars[k]
        chars[k] = rng.choice(by_tone[other])
    out, k = [], 0
    for ch in text:
        out.append(ch if ch in MARKS else chars[k])
        k += ch not in MARKS
    broken = "".join(out)
    return None if check_text(broken, poet.table).ok else (broken, originals)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--poems", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--model", default=None)
    parser.add_argument("--corpus", default="corpus")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    poet = Poet.load(args.model)
    rng = random.Random(args.seed)
    tokens = poet.tokenizer.tokens[poet.tokenizer.first_char:]
    # Common characters only, as a careless hand would write them.
    by_tone = {t: [c for c in tokens[:3000] if poet.table.tone(c) == t] for t in (PING, ZE)}
    held = [r["text"] for r in load_split(args.corpus, "valid") if r["form"] in FORMS]
    rng.shuffle(held)
    restored = within = 0
    changes = originals_back = 0
    seconds, refused, done = [], 0, 0
    for text in held:
        if done == args.poems:
            break
        if not check_text(text, poet.table).ok:
            continue
        case = break_poem(text, poet, rng, by_tone)
        if case is None:
            continue
        broken, originals = case
        done += 1
        tick = time.perf_counter()
        try:
            fixed = poet.repair(broken)
        except GenerationError:
            refused += 1
            continue
        finally:
            seconds.append(time.perf_counter() - tick)
        restored += fixed.report.ok
        within += len(fixed.changes) <= len(originals)
        changes += len(fixed.changes)
        originals_back += sum(originals.get((c.line, c.position)) == poet.script.to_model(c.new)
                              or originals.get((c.line, c.position)) == c.new for c in fixed.changes)
    result = {"poems": done, "restored_share": round(restored / done, 4), "within_made_share": round(within / done, 4),
              "original_char_share": round(originals_back / max(changes, 1), 4), "refused": refused,
              "median_s": round(statistics.median(seconds), 3), "max_s": round(max(seconds), 3)}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{done} broken poems: 合律 again {result['restored_share']:.1%}, no more changes than made "
          f"{result['within_made_share']:.1%}, original character chosen in {result['original_char_share']:.1%} "
          f"of the changes; refused {refused}; {result['median_s']:.2f} s median, {result['max_s']:.2f} s at most")


if __name__ == "__main__":
    main()
