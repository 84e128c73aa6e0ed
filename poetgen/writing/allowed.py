"""Which characters may stand at a place of a finished poem and keep what its request asked
for: the tone of its pattern and, at a rhyme, a group (or 部) shared with its other rhymes. 换字
and polishing ask it; the decoding rules say the same while a poem is written."""

from __future__ import annotations

import numpy as np

from ..text.forms import CI, FORMS
from ..text.script import Script
from ..verse.patterns import patterns
from ..verse.pingshui import PING, ZE, RhymeTable
from ..verse.readings import readings
from ..verse.tunes import find
from .vocabulary import Vocabulary


class Allowed:
    def __init__(self, vocab: Vocabulary, table: RhymeTable, script: Script):
        self.vocab, self.tokenizer, self.table, self.script = vocab, vocab.tokenizer, table, script
        self.readings = readings()

    def __call__(self, poem, tones: str, line: int, position: int, as_read: bool = False) -> np.ndarray:
        """Characters that keep what the request asked for at that position: the tone of the
        poem's pattern (tones 'strict') and, at a rhyme position, a group shared with the other
        rhymes (tones 'rhyme' or 'strict'); with `as_read` (rhyme_as_read), shared as the poets
        read each rhyme after the character before it, as the RhymeReading rule has it."""
        tok, report, vocab, table = self.tokenizer, poem.report, self.vocab, self.table
        allowed = np.arange(len(tok)) >= tok.first_char
        if poem.form == CI:
            return allowed & self.in_ci(poem, tones, line, position)
        pattern = next((p for p in patterns(poem.form) if p.name == report.get("pattern")), None) \
            if poem.form in FORMS and tones != "off" else None
        if pattern is None:
            return allowed
        if position == len(poem.lines[line]) - 1 and line in pattern.rhymes:
            # The other rhymes as the check read them: the model's characters, not the shown ones
            # (溪 shown, 谿 written: simplified and back, a character can change its groups).
            ends = {i: c for i, c in zip(report["rhyme_lines"], report["rhyme_chars"]) if i != line}
            if as_read:
                return allowed & self.read_as_rhyme(poem, line, ends)
            groups = sorted(set.intersection(*(table.ping_groups(c) for c in ends.values())))
            allowed &= vocab.members[:, groups].any(axis=1)
        elif tones == "strict" and pattern.fixed_tone(line, position) is not None:
            allowed &= vocab.ping if pattern.fixed_tone(line, position) == PING else vocab.ze
        return allowed

    def shared_as_read(self, poem, ends: dict[int, str]) -> set[int]:
        """The groups in which every rhyme of `ends` (line -> its character, the model's) is read
        after the character before it; the table's groups where no group is."""
        groups = set.intersection(*(set(self.readings.groups(self.script.to_model(poem.lines[i][-2]), c, self.table))
                                    for i, c in ends.items()))
        return groups or set.intersection(*(self.table.ping_groups(c) for c in ends.values()))

    def read_as_rhyme(self, poem, line: int, ends: dict[int, str]) -> np.ndarray:
        """At the rhyme of `line`: the characters read, after the one before them, in a group in
        which the other rhymes are read too."""
        before = self.tokenizer.index.get(self.script.to_model(poem.lines[line][-2]), -1)
        return self.vocab.read_tables.after(before)[:, sorted(self.shared_as_read(poem, ends))].any(axis=1)

    def keeps_reading(self, poem, line: int, position: int) -> np.ndarray:
        """Polishing changes one character in place: just before a rhyme, only a character after
        which that rhyme is still read in a group the other rhymes share (成行 reads 陽, 人行 庚)."""
        every = np.ones(len(self.tokenizer), bool)
        report = poem.report
        rhymes = dict(zip(report.get("rhyme_lines", []), report.get("rhyme_chars", [])))
        rhyme = self.tokenizer.index.get(rhymes.get(line, ""))
        if poem.form not in FORMS or rhyme is None or position != len(poem.lines[line]) - 2 or len(rhymes) < 2:
            return every
        shared = sorted(self.shared_as_read(poem, {i: c for i, c in rhymes.items() if i != line}))
        reads = self.vocab.read_tables
        keeps = np.full(len(self.tokenizer), reads.as_read[rhyme, shared].any())
        after = reads.pair_char == rhyme
        keeps[reads.pair_prev[after]] = reads.pair_groups[after][:, shared].any(axis=1)
        return keeps

    def in_ci(self, poem, tones: str, line: int, position: int) -> np.ndarray:
        """The same for a ci: at a rhyme position, a character of the 部 its chain's other
        rhymes share, in the tone the tune asks for there; elsewhere the tune's tone."""
        pattern, vocab = find(poem.cipai), self.vocab
        if tones == "off":
            return np.ones(len(self.tokenizer), bool)
        tone = pattern.fixed_tone(line, position)
        chain = pattern.chains[line]
        if position == pattern.lengths[line] - 1 and chain >= 0:
            classes = np.ones(vocab.ci_members.shape[2], bool)
            for i, c in enumerate(pattern.chains):
                if c == chain and i != line:
                    end = self.script.to_model(poem.lines[i][-1])
                    classes &= vocab.ci_members[self.tokenizer.index[end], int(pattern.rhyme_tone(i) == ZE)]
            return vocab.ci_members[:, int(tone == ZE), classes].any(axis=1)
        if tones == "strict" and tone is not None:
            return vocab.ping if tone == PING else vocab.ze
        return np.ones(len(self.tokenizer), bool)
