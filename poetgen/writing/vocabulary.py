"""The model's vocabulary as the writing rules see it: each character's tones, 平水韵
groups and 词林正韵 部, and the masks of what may stand at a kind of place."""

from __future__ import annotations

import numpy as np

from ..model.tokenizer import FORM_TOKENS, Tokenizer
from ..verse.ci_rhymes import NAMES as BU_NAMES
from ..verse.ci_rhymes import bu_of
from ..verse.pingshui import PING, ZE, RhymeTable
from ..verse.readings import readings
from .rules import ReadTables

MASK_CHARS, MASK_BODY, MASK_FORMS, MASK_PING, MASK_ZE = range(5)


def roomy(sizes, needed: int):
    """Rhyme classes big enough to choose from for `needed` rhymes: three characters a rhyme, and
    at least 8 (tiny groups make stilted poems); shi groups and ci 部 alike."""
    return sizes >= max(needed * 3, 8)


class Vocabulary:
    """Prosody of every token, computed once per model: tone masks and rhyme membership."""

    def __init__(self, tokenizer: Tokenizer, table: RhymeTable):
        self.tokenizer, self.table = tokenizer, table
        v = len(tokenizer)
        self.ping = np.zeros(v, bool)
        self.ze = np.zeros(v, bool)
        self.members = np.zeros((v, table.n_ping), bool)  # [V, 平 groups]
        for i in range(tokenizer.first_char, v):
            ch = tokenizer.tokens[i]
            tones = table.tones(ch)
            self.ping[i], self.ze[i] = PING in tones, ZE in tones
            for g in table.ping_groups(ch):
                self.members[i, g] = True
        self.group_sizes = self.members.sum(axis=0)
        self.read_tables = self.rhyme_readings()
        # 词林正韵: [V, 2, 部], a character's 部 in its 平 readings and in its 仄 ones.
        self.ci_members = np.zeros((v, 2, len(BU_NAMES)), bool)
        for i in range(tokenizer.first_char, v):
            for tone, bus in enumerate(bu_of(table, tokenizer.tokens[i])):
                self.ci_members[i, tone, list(bus)] = True
        self.ci_sizes = self.ci_members.sum(axis=0)  # [2, 部]
        masks = np.zeros((5, v), bool)
        masks[MASK_CHARS, tokenizer.first_char:] = True
        masks[MASK_BODY, tokenizer.first_char:] = True
        masks[MASK_BODY, [tokenizer.comma, tokenizer.period, tokenizer.eos]] = True
        masks[MASK_FORMS, [tokenizer.index[t] for t in FORM_TOKENS]] = True
        masks[MASK_PING] = masks[MASK_CHARS] & self.ping
        masks[MASK_ZE] = masks[MASK_CHARS] & self.ze
        self.masks = masks

    def rhyme_readings(self) -> ReadTables:
        """The groups each character rhymes in as the poets rhymed it, and the pairs where the
        character before it tells otherwise."""
        tok, table, known = self.tokenizer, self.table, readings()
        as_read = self.members.copy()
        for ch in known.chars:
            if ch in tok.index:
                as_read[tok.index[ch]] = False
                as_read[tok.index[ch], list(known.groups("", ch, table))] = True
        pairs = [(tok.index[p[:-1]], tok.index[p[-1]], known.groups(p[:-1], p[-1], table))
                 for p in known.pairs if p[:-1] in tok.index and p[-1] in tok.index]
        groups = np.zeros((len(pairs), table.n_ping), bool)
        for k, (_, _, gs) in enumerate(pairs):
            groups[k, list(gs)] = True
        return ReadTables(as_read, np.array([p[0] for p in pairs], np.int32),
                          np.array([p[1] for p in pairs], np.int32), groups)

    def char(self, token: int) -> str:
        return self.tokenizer.tokens[token]
