"""The groups a 多音字 rhymes in, as the poets rhymed it (verse/readings.py reads the result).

`python -m poetgen.corpus.rhyme_readings --corpus corpus --out poetgen/data/rhyme_readings.json`
(byte-identical for the same corpus). Over the training split's regulated poems (五绝, 七绝,
五律, 七律) whose rhymes share exactly one 平水韵 group, each rhyme character with several 平
readings counts once for that group, alone and after the character before it. A character used
at least MIN_CHAR_USES times keeps the groups of at least MIN_SHARE of its uses, where that
leaves some out; a pair used at least MIN_PAIR_USES times, likewise, where it differs from its
character's. 行 rhymed 3,680 times in 庚 and 807 in 陽 keeps both, but 君行 (55 times, all 庚)
keeps 庚 and 雁行 (63 陽, 2 庚) 陽.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

from ..files import atomic_write_bytes
from ..text.forms import FORMS, split_lines
from ..verse.check import check
from ..verse.pingshui import RhymeTable, rhyme_table
from ..verse.readings import DATA_FILE, FORMAT

MIN_SHARE = 0.1
MIN_CHAR_USES = 10
MIN_PAIR_USES = 3


def rhyme_uses(rows: list[dict], table: RhymeTable) -> tuple[Counter, Counter, int]:
    """(character, group) and (pair, group) counts of 多音字 rhymes, and the poems counted."""
    chars, pairs, poems = Counter(), Counter(), 0
    for row in rows:
        if row.get("form") not in FORMS:
            continue
        report = check(row["text"], table)
        lines = split_lines(row["text"])
        ends = [lines[i] for i in report.rhyme_lines if i < len(lines) and len(lines[i]) >= 2]
        if report.form not in FORMS or len(ends) != len(report.rhyme_lines):
            continue
        shared = set.intersection(*(table.ping_groups(line[-1]) for line in ends))
        if len(shared) != 1:
            continue
        group = table.groups[shared.pop()]
        poems += 1
        for line in ends:
            if len(table.ping_groups(line[-1])) > 1:
                chars[line[-1], group] += 1
                pairs[line[-2:], group] += 1
    return chars, pairs, poems


def kept(counts: Counter, least: int) -> dict[str, list[str]]:
    """Each key used at least `least` times -> the groups of at least MIN_SHARE of its uses."""
    by_key: dict[str, Counter] = defaultdict(Counter)
    for (key, group), n in counts.items():
        by_key[key][group] += n
    out = {}
    for key, groups in by_key.items():
        total = sum(groups.values())
        if total >= least:
            out[key] = sorted(g for g, n in groups.items() if round(n / total, 9) >= MIN_SHARE)  # 3 of 30 is a tenth
    return out


def derive(rows: list[dict], table: RhymeTable | None = None) -> dict:
    table = table or rhyme_table()
    chars, pairs, poems = rhyme_uses(rows, table)
    by_char = kept(chars, MIN_CHAR_USES)

    def listed(ch: str) -> list[str]:  # the groups the rhyme table gives a character
        return sorted(table.groups[g] for g in table.ping_groups(ch))

    narrower = {ch: groups for ch, groups in by_char.items() if groups != listed(ch)}
    telling = {pair: groups for pair, groups in kept(pairs, MIN_PAIR_USES).items()
               if groups != by_char.get(pair[-1], listed(pair[-1]))}
    return {"format": FORMAT, "poems": poems, "min_share": MIN_SHARE, "min_char_uses": MIN_CHAR_USES,
            "min_pair_uses": MIN_PAIR_USES, "chars": dict(sorted(narrower.items())),
            "pairs": dict(sorted(telling.items()))}


def main(argv: list[str] | None = None) -> None:
    import argparse

    from .splits import load_split

    parser = argparse.ArgumentParser(prog="python -m poetgen.corpus.rhyme_readings",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="corpus", help="a corpus made by `poetgen prepare`")
    parser.add_argument("--out", default=str(DATA_FILE))
    args = parser.parse_args(argv)
    data = derive(load_split(args.corpus, "train"))
    atomic_write_bytes(Path(args.out), (json.dumps(data, ensure_ascii=False, indent=0) + "\n").encode("utf-8"))
    print(f"{data['poems']} poems: {len(data['chars'])} characters, {len(data['pairs'])} pairs -> {args.out}")


if __name__ == "__main__":
    main()
