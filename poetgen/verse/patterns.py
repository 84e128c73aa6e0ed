"""The 格律 patterns of regulated verse: line types, 粘 and 对, the positions whose tone
is fixed, and the faults 孤平 and 三平尾."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from ..text.forms import FORM_SHAPES
from .pingshui import EITHER, PING, UNKNOWN, ZE

# The four line types of 五言 regulated verse; 七言 prefixes two of the opposite tone.
LINE_TYPES = {"A": "仄仄平平仄", "B": "平平仄仄平", "C": "平平平仄仄", "D": "仄仄仄平平"}
# Couplet partner (对) and next couplet opener (粘) for each line type.
PARTNER = {"A": "B", "C": "D", "D": "B", "B": "D"}
NEXT_OPENER = {"B": "C", "D": "A"}
# First-line types: (平起 or 仄起 in 五言 terms, first line rhymed or not).
STARTS = {"A": ("仄起", False), "D": ("仄起", True), "C": ("平起", False), "B": ("平起", True)}


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
