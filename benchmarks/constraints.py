"""How well the constraints hold on the shipped model: 200 poems per form, fixed seed.

    python -m benchmarks.constraints [--model DIR] [--poems 200] [--json] [--ci-poems 50] [--only shi|ci]

For each form: form correctness, rhyme (tones='rhyme'), strict tones, lines copied from the
corpus, distinct-2 unconstrained and with every constraint on (strict tones and rhyme, no
copying, at most 2 of a character; also with a theme), at equal sampling (plain, and top-k 40
+ top-p 0.9), the theme hit rate, and the time of a batch of 64 七律 with every constraint on
(acrostic, theme, rhyme group, top-k/top-p too) against the same batch unconstrained.

For ci (`ci_report`): the ten most written 词牌, 50 ci each: shape, rhyme positions in one 部
(tones='rhyme' and 'strict'), the tune's fixed positions kept (strict), lines of four characters
or more copied from the corpus (no-copy on); and one 浣溪沙 with every constraint against one
unconstrained.
"""

from __future__ import annotations

import argparse
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from poetgen.api import Poet  # noqa: E402
from poetgen.corpus.splits import load_split
from poetgen.text.forms import FORMS, split_lines  # noqa: E402

SHAPES = {"五绝": (5, 4), "七绝": (7, 4), "五律": (5, 8), "七律": (7, 8)}
FREE_OF_RULES = dict(tones="off", no_copy=False, max_repeat=0)
EVERY_RULE = dict(tones="strict", no_copy=True, max_repeat=2)
# Truncated sampling is a choice of the sampler, not a constraint: it narrows every poem alike,
# so diversity is compared at equal sampling, once plain and once truncated.
TRUNCATED = dict(top_k=40, top_p=0.9)
THEMES = ["思念故乡", "边塞征战", "春日花开", "秋夜明月", "送别友人", "山水隐居", "江南烟雨", "怀古伤今",
          "雪中寒梅", "饮酒高歌"]


def distinct_2(poems) -> float:
    pairs = [line[i:i + 2] for p in poems for line in p.lines for i in range(len(line) - 1)]
    return len(set(pairs)) / max(1, len(pairs))


def form_ok(poem, form: str) -> bool:
    width, count = SHAPES[form]
    return [len(line) for line in poem.lines] == [width] * count and poem.text.endswith("。")


def corpus_lines(poet: Poet) -> set[str]:
    rows = load_split(poet.corpus_dir, "train") + load_split(poet.corpus_dir, "valid")
    return {line for r in rows for line in split_lines(r["text"])}


def theme_hit(poem) -> bool:
    """A keyword, or one of its characters, appears in the poem."""
    body = "".join(poem.lines)
    return any(ch in body for word in poem.keywords for ch in word)


def fixed_positions_kept(poem, pattern) -> tuple[int, int]:
    """(positions the tune fixes that the ci keeps, positions it fixes), rhymes included."""
    kept = total = 0
    bad = {tuple(v) for v in poem.report["violations"]}
    for i, tones in enumerate(pattern.tones):
        for j, tone in enumerate(tones):
            if tone != "中":
                total += 1
                kept += (i, j) not in bad
    return kept, total


def ci_report(poet: Poet, n: int, known: set[str]) -> dict:
    from poetgen.verse.tunes import find, load

    out: dict = {"ci_per_tune": n, "tunes": {}}
    for name in list(load())[:10]:
        pattern = find(name)
        rhymed = poet.write(cipai=name, n=n, seed=2, tones="rhyme")
        strict = poet.write(cipai=name, n=n, seed=3, **EVERY_RULE)
        shaped = rhymed + strict
        kept = [fixed_positions_kept(p, pattern) for p in strict]
        long_lines = [line for p in strict for line in p.lines if len(line) >= 4]
        out["tunes"][name] = {
            "shape": sum([len(x) for x in p.lines] == list(pattern.lengths) for p in shaped) / len(shaped),
            "rhyme_in_one_bu": sum(p.report["rhymes"] for p in shaped) / len(shaped),
            "strict_positions": sum(k for k, _ in kept) / max(1, sum(t for _, t in kept)),
            "strict_ci_ok": sum(p.report["ok"] for p in strict) / n,
            "copied_lines_4plus": sum(line in known for line in long_lines) / max(1, len(long_lines)),
            "distinct_2": distinct_2(strict),
        }
    from benchmarks.generation import paired_ms

    times = paired_ms({"plain": lambda: poet.write(cipai="浣溪沙", n=1, seed=1, **FREE_OF_RULES),
                       "full": lambda: poet.write(cipai="浣溪沙", n=1, seed=1, acrostic="春夏秋冬花月",
                                                  theme="思念故乡", rhyme="第七部", **EVERY_RULE, **TRUNCATED)}, 25)
    plain, full = times["plain"], times["full"]
    out["one_huanxisha_ms"] = {"unconstrained": round(plain, 1), "every_constraint": round(full, 1),
                               "ratio": round(full / plain, 2)}
    for figures in out["tunes"].values():
        for key, value in figures.items():
            figures[key] = round(value, 4)
    return out


def print_table(rows: dict) -> None:
    keys = list(next(iter(rows.values())))
    print("| figure | " + " | ".join(rows) + " |")
    print("| --- |" + " --- |" * len(rows))
    for key in keys:
        print(f"| {key} | " + " | ".join(f"{f[key]:.4f}" for f in rows.values()) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--poems", type=int, default=200)
    parser.add_argument("--ci-poems", type=int, default=50)
    parser.add_argument("--only", choices=["shi", "ci"], default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    poet = Poet.load(args.model)
    known = corpus_lines(poet)
    report: dict = {}
    if args.only != "ci":
        report["shi"] = shi_report(poet, args.poems, known)
    if args.only != "shi":
        report["ci"] = ci_report(poet, args.ci_poems, known)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return
    if "shi" in report:
        print_table(report["shi"]["forms"])
        print(f"batch of 64 七律: {report['shi']['batch64_qilv_ms']}")
    if "ci" in report:
        print_table(report["ci"]["tunes"])
        print(f"one 浣溪沙: {report['ci']['one_huanxisha_ms']}")


def shi_report(poet: Poet, n: int, known: set[str]) -> dict:
    report: dict = {"poems_per_form": n, "forms": {}}
    for form in FORMS:
        free = poet.write(form=form, n=n, seed=1, **FREE_OF_RULES)
        rhymed = poet.write(form=form, n=n, seed=2, tones="rhyme")
        strict = poet.write(form=form, n=n, seed=3, tones="strict")
        everything = poet.write(form=form, n=n, seed=4, **EVERY_RULE)
        free_truncated = poet.write(form=form, n=n, seed=4, **FREE_OF_RULES, **TRUNCATED)
        everything_truncated = poet.write(form=form, n=n, seed=4, **EVERY_RULE, **TRUNCATED)
        themed = [p for i, theme in enumerate(THEMES)
                  for p in poet.write(form=form, n=n // len(THEMES), seed=5 + i, theme=theme, **EVERY_RULE)]
        constrained = rhymed + strict + everything + everything_truncated + themed
        lines = [line for p in constrained for line in p.lines]
        free_lines = [line for p in free for line in p.lines]
        report["forms"][form] = {
            "form_correct": sum(form_ok(p, form) for p in free + constrained) / len(free + constrained),
            "rhyme_ok": sum(p.report["rhymes"] for p in rhymed) / n,
            "strict_tones_ok": sum(not p.report["violations"] for p in strict) / n,
            "strict_fully_regulated": sum(p.report["ok"] for p in strict) / n,
            "copied_lines_no_copy_on": sum(line in known for line in lines) / len(lines),
            "copied_lines_no_copy_off": sum(line in known for line in free_lines) / len(free_lines),
            "distinct_2_unconstrained": distinct_2(free),
            "distinct_2_every_constraint": distinct_2(everything),
            "distinct_2_every_constraint_and_theme": distinct_2(themed),
            "distinct_2_unconstrained_top_k_p": distinct_2(free_truncated),
            "distinct_2_every_constraint_top_k_p": distinct_2(everything_truncated),
            "theme_hit": sum(theme_hit(p) for p in themed) / len(themed),
        }
    from benchmarks.generation import paired_ms

    times = paired_ms({"plain": lambda: poet.write(form="七律", n=64, seed=1, **FREE_OF_RULES),
                       "full": lambda: poet.write(form="七律", n=64, seed=1, acrostic="春夏秋冬花鳥風月",
                                                  theme="思念故乡", rhyme="陽", **EVERY_RULE, **TRUNCATED)}, 9)
    plain, full = times["plain"], times["full"]
    report["batch64_qilv_ms"] = {"unconstrained": round(plain), "every_constraint": round(full),
                                 "ratio": round(full / plain, 2)}
    for figures in report["forms"].values():
        for key, value in figures.items():
            figures[key] = round(value, 4)
    return report


if __name__ == "__main__":
    main()
