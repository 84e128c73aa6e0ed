"""Which 平水韵 group a 多音字 rhymes in, as the poets rhymed it: 行 after 君 (送君行, xíng) rhymes
in 庚, after 雁 (雁行, háng) in 陽. The rhyme table counts a character with several readings in
each of their groups, so a poem ending 送君行 among 陽 rhymes passes the 格律 check, yet a reader
hears 出韵. This table, read off the corpus by corpus/rhyme_readings.py into
poetgen/data/rhyme_readings.json, says in which groups the poets rhymed such a character, after
a given character where that pair is common enough to tell, else overall. The checker keeps the
table's wider rule (a poet's rare reading is not a fault); writing holds itself to this one."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from .pingshui import RhymeTable

DATA_FILE = Path(__file__).resolve().parent.parent / "data" / "rhyme_readings.json"
FORMAT = "poetgen-rhyme-readings-1"


@dataclass(frozen=True)
class Readings:
    chars: dict[str, frozenset[str]]  # a 多音字 -> the groups (full names) poets rhymed it in
    pairs: dict[str, frozenset[str]]  # the character before it and it -> the same, where they tell

    def groups(self, prev: str, ch: str, table: RhymeTable) -> frozenset[int]:
        """The 平 groups `ch` may rhyme in after `prev`: the table's own where nothing is known."""
        ping = frozenset(table.ping_groups(ch))
        names = self.pairs.get(prev + ch) or self.chars.get(ch)
        if names is None:
            return ping
        return frozenset(table.group_index(name) for name in names) & ping

    @classmethod
    def from_dict(cls, data: dict) -> Readings:
        if data.get("format") != FORMAT:
            raise ValueError(f"not a rhyme readings table ({FORMAT})")
        return cls({k: frozenset(v) for k, v in data["chars"].items()},
                   {k: frozenset(v) for k, v in data["pairs"].items()})


@cache
def readings() -> Readings:
    return Readings.from_dict(json.loads(DATA_FILE.read_text(encoding="utf-8")))
