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
            others = [i for i in report["rhyme_lines"] if i != line]
            if as_read:
                return allowed & self.read_as_rhyme(poem, line, others)
            ends = [self.script.to_model(poem.lines[i][-1]) for i in others]
            groups = sorted(set.intersection(*(table.ping_groups(c) for c in ends)))
            allowed &= vocab.members[:, groups].any(axis=1)
        elif tones == "strict" and pattern.fixed_tone(line, position) is not None:
            allowed &= vocab.ping if pattern.fixed_tone(line, position) == PING else vocab.ze
        return allowed

    def read_as_rhyme(self, poem, line: int, others: list[int]) -> np.ndarray:
        """At the rhyme of `line`: the characters read, after the one before them, in a group in
        which the other rhymes are read too (the table's groups where no group is)."""
        model = [self.script.to_model(c) for c in poem.lines[line]]
        groups = set.intersection(*(set(self.readings.groups(self.script.to_model(poem.lines[i][-2]),
                                                            self.script.to_model(poem.lines[i][-1]), self.table))
                                    for i in others))
        if not groups:
            groups = set.intersection(*(self.table.ping_groups(self.script.to_model(poem.lines[i][-1]))
                                        for i in others))
        before = self.tokenizer.index.get(model[-2], -1)
        return self.vocab.read_after(before)[:, sorted(groups)].any(axis=1)

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
