"""Repair of a user's poem or ci: the fewest character changes, at the positions its 格律 check
faults only, that make it 合律, ranked by what the models say of the whole repaired poem.

Contract: the user's other characters are never touched (the repaired text is the user's text
with characters replaced in place, in the user's script, punctuation and line breaks kept); a
poem that holds is returned unchanged; a text that no change at its faulty positions can make
合律 (no regulated shape, a wrong number of lines) is refused by name. The checker is the
judge: every repair returned passes `check_text`.

How: each fault names the places that may change and what would mend it (a 平 where the
pattern wants 平; a character of the rhyme group the other rhymes share; one 平 in a line with
孤平, one 仄 to end a 三平尾). The mandatory places are filled by a small beam search whose
candidates per place are the characters the models find likeliest there among those that
mend it, and whose partial poems are ranked by the two-direction score of the whole poem."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from ..errors import GenerationError
from ..model.tokenizer import Tokenizer
from ..text.forms import CI, SONGCI, TANG
from ..text.script import Script
from ..verse.check import Report, check_text
from ..verse.ci_rhymes import bu_of
from ..verse.pingshui import EITHER, PING, ZE, RhymeTable
from ..verse.tunes import by_shape, find
from .scoring import Scorer

SKIPPED = re.compile(r"[\s　、；：！？,.;:!?，。]")
CANDIDATES = 32  # characters tried at each place: the left context alone often ranks the right one low
BEAM = 6  # partial repairs kept between places


@dataclass(frozen=True)
class Change:
    line: int  # 0-based
    position: int  # 0-based, within the line
    old: str
    new: str
    why: str

    def to_dict(self) -> dict:
        return {"line": self.line, "position": self.position, "from": self.old, "to": self.new, "why": self.why}


@dataclass
class Repaired:
    text: str  # the user's text with the changed characters replaced in place
    changes: list[Change]
    report: Report  # the check of the repaired text
    draft_report: Report = field(repr=False, default=None)

    @property
    def unchanged(self) -> bool:
        return not self.changes


@dataclass(frozen=True)
class Place:
    """A place that may change, and the characters (model ids) that would mend it there."""

    line: int
    position: int
    allowed: np.ndarray  # bool [vocabulary]
    why: str


class Repairer:
    def __init__(self, tokenizer: Tokenizer, table: RhymeTable, script: Script, scorer: Scorer):
        self.tokenizer, self.table, self.script, self.scorer = tokenizer, table, script, scorer
        chars = tokenizer.tokens
        first = tokenizer.first_char
        self.tone = np.array([table.tone(c) if i >= first else "" for i, c in enumerate(chars)])
        self.ping_groups = [table.ping_groups(c) if i >= first else set() for i, c in enumerate(chars)]

    def repair(self, text: str, cipai: str | None = None) -> Repaired:
        report = check_text(text, self.table, cipai)
        if report.ok:
            return Repaired(text, [], report, report)
        slots = [i for i, ch in enumerate(text) if not SKIPPED.match(ch)]
        lengths = [len(t) for t in report.tones]
        if report.form == "其他" or sum(lengths) != len(slots) or (report.form == CI and not report.rhyme_lines):
            raise GenerationError("cannot_repair", verdict=report.verdict)
        user_lines = _split(text, slots, lengths)
        model_lines = [self.script.to_model(line) for line in user_lines]
        opening = self.opening(report)
        found = []  # (changes, -score, text, places): the best repair of each way to mend the rhyme
        for must, optional in self.places(report, model_lines):
            for score, repaired in self.search(model_lines, must, optional, opening):
                candidate = _replaced(text, slots, lengths, repaired, model_lines, self.script, user_lines)
                fixed = check_text(candidate, self.table, cipai)
                if fixed.ok:
                    changes = self.changes(user_lines, candidate, slots, lengths, must + optional)
                    found.append((len(changes), -score, candidate, changes, fixed))
                    break
        if not found:
            raise GenerationError("cannot_repair", verdict=report.verdict)
        _, _, candidate, changes, fixed = min(found, key=lambda f: f[:2])
        return Repaired(candidate, changes, fixed, report)

    def reads_as(self, tone: str) -> np.ndarray:
        """The characters with a reading in `tone`: a 多音字 (中) fits either, as the checker
        reads it (and as poets used it)."""
        return (self.tone == tone) | (self.tone == EITHER)

    def opening(self, report: Report) -> list[int]:
        if report.form == CI:
            return self.tokenizer.opening(CI, SONGCI if self.tokenizer.conditioned else TANG, report.pattern)
        return self.tokenizer.opening(report.form, TANG)

    # ------------------------------------------------------------------ what may change

    def places(self, report: Report, lines: list[str]) -> list[tuple[list[Place], list[Place]]]:
        """For each way to mend the rhyme (a group tied for the most rhymes is one way): (places
        that must change, places of which one per faulty line must change: 孤平/三平尾)."""
        tones = {(i, j): Place(i, j, self.reads_as(report.expected[i][j]), f"此处应为{report.expected[i][j]}声")
                 for i, j in report.violations}
        return [self._with_optional(report, lines, {**tones, **{(p.line, p.position): p for p in rhymes}})
                for rhymes in self.rhyme_options(report, lines)]

    def _with_optional(self, report: Report, lines: list[str], must: dict) -> tuple[list[Place], list[Place]]:
        optional = []
        for i in sorted(set(report.gu_ping) | set(report.san_ping_wei)):
            if i in report.gu_ping:  # one more 平 before the rhyme, where a 仄 stands now
                spots, want, why = [j for j, t in enumerate(report.tones[i][:-1]) if t == ZE], PING, "救孤平"
            else:
                spots, want, why = [len(lines[i]) - 3], ZE, "避三平尾"
            optional += [Place(i, j, self.reads_as(want), why) for j in spots if (i, j) not in must]
        return sorted(must.values(), key=lambda p: (p.line, p.position)), optional

    def rhyme_options(self, report: Report, lines: list[str]) -> list[list[Place]]:
        """The rhyme characters outside a group most of the others share, one list per such group
        (per chain for a ci); [[]] when the rhymes hold."""
        if report.rhymes:
            return [[]]
        if report.form == CI:
            return [self.ci_rhyme_places(report, lines)]
        ends = {i: lines[i][-1] for i in report.rhyme_lines}
        counts = Counter(g for ch in ends.values() for g in self.table.ping_groups(ch))
        best = max(counts.values(), default=0)
        options = []
        for group in sorted(g for g, c in counts.items() if c == best) or [None]:
            allowed = np.array([group in gs if group is not None else bool(gs) for gs in self.ping_groups])
            name = self.table.short_name(group) if group is not None else "平声"
            options.append([Place(i, len(lines[i]) - 1, allowed, f"韵脚应押{name}韵")
                            for i, ch in ends.items() if group is None or group not in self.table.ping_groups(ch)])
        return options

    def ci_rhyme_places(self, report: Report, lines: list[str]) -> list[Place]:
        shape = tuple(len(line) for line in lines)
        pattern = next((p for p in by_shape(shape, report.pattern) if p.name == report.pattern), find(report.pattern))
        out = []
        for chain in range(max(pattern.chains, default=-1) + 1):
            members = [i for i, c in enumerate(pattern.chains) if c == chain]
            side = {i: int(pattern.rhyme_tone(i) == ZE) for i in members}
            counts = Counter(b for i in members for b in bu_of(self.table, lines[i][-1])[side[i]])
            if not counts:
                continue
            bu = max(counts, key=lambda b: (counts[b], -b))
            for i in members:
                if bu not in bu_of(self.table, lines[i][-1])[side[i]]:
                    allowed = np.array([k >= self.tokenizer.first_char and bu in bu_of(self.table, c)[side[i]]
                                        for k, c in enumerate(self.tokenizer.tokens)])
                    out.append(Place(i, len(lines[i]) - 1, allowed, "韵脚应与同段韵脚同部"))
        return out

    # ------------------------------------------------------------------ the search

    def search(self, lines: list[str], must: list[Place], optional: list[Place], opening: list[int]):
        """Repaired lines (model script), best first: the mandatory places by a beam over each
        place's likeliest mending characters, then, if the checker still faults a line for 孤平
        or 三平尾, one optional place of it."""
        beam = [(float(self.scorer.scores([_joined(lines)], opening)[0]), lines)]
        for place in must:
            beam = self.extend(beam, [place], opening)
        yield from beam
        for _, candidate in beam:
            yield from self.extend([(0.0, candidate)], optional, opening)

    def extend(self, beam: list[tuple[float, list[str]]], places: list[Place], opening: list[int]):
        texts = []
        for _, lines in beam:
            text = _joined(lines)
            logp = self.scorer.next_char_logprobs(text, opening)
            offsets = np.cumsum([0] + [len(line) for line in lines])
            for place in places:
                scores = np.where(place.allowed, logp[offsets[place.line] + place.position], -np.inf)
                for token in np.argsort(-scores)[:CANDIDATES]:
                    if np.isfinite(scores[token]):
                        texts.append(_put(lines, place, self.tokenizer.tokens[token]))
        if not texts:
            return []
        scores = self.scorer.scores([_joined(t) for t in texts], opening)
        order = np.argsort(-scores, kind="stable")[:BEAM]
        return [(float(scores[k]), texts[k]) for k in order]

    def changes(self, before: list[str], text: str, slots: list[int], lengths: list[int],
                places: list[Place]) -> list[Change]:
        why = {(p.line, p.position): p.why for p in places}
        after = _split(text, slots, lengths)
        return [Change(i, j, a, b, why.get((i, j), "")) for i, (x, y) in enumerate(zip(before, after))
                for j, (a, b) in enumerate(zip(x, y)) if a != b]


def _split(text: str, slots: list[int], lengths: list[int]) -> list[str]:
    chars = "".join(text[k] for k in slots)
    ends = np.cumsum([0] + lengths)
    return [chars[a:b] for a, b in zip(ends[:-1], ends[1:])]


def _joined(lines: list[str]) -> str:
    """Lines in the model's script as the models read a poem: ，after odd lines, 。after even."""
    return "".join(line + ("，" if k % 2 == 0 else "。") for k, line in enumerate(lines))


def _put(lines: list[str], place: Place, ch: str) -> list[str]:
    line = lines[place.line]
    return [*lines[:place.line], line[:place.position] + ch + line[place.position + 1:], *lines[place.line + 1:]]


def _replaced(text: str, slots: list[int], lengths: list[int], repaired: list[str], model_lines: list[str],
              script: Script, user_lines: list[str]) -> str:
    """The user's text with only the changed characters replaced, each in the user's script."""
    simplified = script.display(_joined(model_lines), "simplified") == _joined(user_lines)
    out = list(text)
    k = 0
    for old, new in zip(model_lines, repaired):
        for a, b in zip(old, new):
            if a != b:
                out[slots[k]] = script.display(b, "simplified") if simplified else b
            k += 1
    return "".join(out)
