"""How often poetgen's 平仄 (from the 平水韵 table) agrees with the 平仄 annotations that
ship with the chinese-poetry dataset (strains/, keyed by poem id).

    python -m benchmarks.strains_agreement [--source ../shared/chinese-poetry] [--files N]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from poetgen.verse.patterns import fits
from poetgen.verse.pingshui import PING, UNKNOWN, ZE, rhyme_table


def agreement(source: str | Path, files: int | None = None) -> dict:
    """coverage: share of annotated characters the table knows; agreement: share of those
    whose reading fits the annotation (a 多音字 fits either)."""
    source = Path(source)
    table = rhyme_table()
    names = sorted(p.name for p in (source / "strains").glob("poet.tang.*.json"))[:files]
    agree = known = total = 0
    for name in names:
        poems = {p["id"]: p for p in json.loads((source / "quantangshi" / name).read_text(encoding="utf-8"))}
        for s in json.loads((source / "strains" / name).read_text(encoding="utf-8")):
            poem = poems.get(s["id"])
            for para, marks in zip(poem["paragraphs"] if poem else [], s["strains"]):
                if len(para) != len(marks):  # misaligned annotation: skip the line
                    continue
                for ch, mark in zip(para, marks):
                    if mark in (PING, ZE):
                        total += 1
                        tone = table.tone(ch)
                        if tone != UNKNOWN:
                            known += 1
                            agree += fits(tone, mark)
    return {"files": len(names), "annotated_chars": total, "coverage": known / total, "agreement": agree / known}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default="../shared/chinese-poetry")
    parser.add_argument("--files", type=int, default=None)
    args = parser.parse_args()
    print(json.dumps(agreement(args.source, args.files), indent=2))


if __name__ == "__main__":
    main()
