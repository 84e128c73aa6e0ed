"""Turning a request (form, start text, acrostic, rhyme, tones, theme...) into a sampler Plan.

Static constraints become per-position forced tokens or allowed-token masks fixed before
decoding; the plan lists the rule objects (`poetgen.rules`) that run inside the compiled loop.
"""

from __future__ import annotations

import numpy as np

from .cilin import NAMES as BU_NAMES
from .cilin import bu_of
from .corpus import FORMS, LOST_CHARACTER_MARKS, OTHER, SHAPE_OF_FORM
from .errors import GenerationError
from .prosody import PING, ZE, Pattern, RhymeTable, patterns
from .request import FREE, Request
from .rules import EndAfterPeriod, LineStart, NoCopy, NoRepeat, PositionMask, Rhyme, Theme
from .sampler import Plan
from .tokenizer import FORM_TOKENS, Tokenizer

MASK_CHARS, MASK_BODY, MASK_FORMS, MASK_PING, MASK_ZE = range(5)


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
        lost = [tokenizer.index[ch] for ch in LOST_CHARACTER_MARKS if ch in tokenizer.index]
        masks[:, lost] = False  # a mark of a lost character is never written
        masks[MASK_PING] = masks[MASK_CHARS] & self.ping
        masks[MASK_ZE] = masks[MASK_CHARS] & self.ze
        self.masks = masks

    def char(self, token: int) -> str:
        return self.tokenizer.tokens[token]


def form_template(form: str) -> list[str]:
    """The slots of a regulated poem: 'C' a character, then '，' / '。', then '<eos>'."""
    length, lines = SHAPE_OF_FORM[form]
    slots: list[str] = []
    for i in range(lines):
        slots += ["C"] * length + ["，" if i % 2 == 0 else "。"]
    return slots + ["<eos>"]


def default_rhyme_lines(form: str) -> tuple[int, ...]:
    """Even lines rhyme; 七言 usually rhymes its first line too, 五言 usually not."""
    length, count = SHAPE_OF_FORM[form]
    return tuple(i for i in range(count) if i % 2 == 1 or (i == 0 and length == 7))


def plan_request(vocab: Vocabulary, req: Request, n: int, seed: int,
                 bias: np.ndarray | None = None) -> Plan:
    if req.form == FREE:
        return _plan_free(vocab, req, n, bias)
    if req.cipai is not None:
        from .ci import plan_ci  # ci.py builds on this module's layout helpers

        return plan_ci(vocab, req, n, bias)
    if req.form not in FORMS:
        raise GenerationError("form", value=req.form)
    length = SHAPE_OF_FORM[req.form][0]
    forced, where = _layout(vocab.tokenizer, req)
    fixed = _fixed_characters(vocab, req)
    candidates = _patterns_for(vocab, req, fixed)
    rhyme_lines = candidates[0].rhymes if req.tones == "strict" else default_rhyme_lines(req.form)
    groups0 = _rhyme_groups(vocab, req, fixed, candidates, length, rhyme_lines)
    plan_rows = []
    for b in range(n):
        row_forced = forced.copy()
        mask_id = np.full(len(forced), MASK_CHARS, np.int32)
        rhyme_at = np.zeros(len(forced), bool)
        line_end = np.zeros(len(forced), bool)
        rhymes = rhyme_lines
        if req.tones == "strict":
            # Each poem draws its pattern from (seed, index): a poem never depends on the batch.
            pattern = candidates[np.random.default_rng([seed, b]).integers(len(candidates))]
            rhymes = pattern.rhymes
            for (i, j), col in where.items():
                tone = pattern.fixed_tone(i, j)
                if tone is not None:
                    mask_id[col] = MASK_PING if tone == PING else MASK_ZE
        for (i, j), col in where.items():
            if j == length - 1:
                line_end[col] = True
                rhyme_at[col] = req.tones != "off" and i in rhymes
        for key, token in fixed.items():
            row_forced[where[key]] = token
        plan_rows.append((row_forced, mask_id, rhyme_at, line_end))
    forced_b, mask_b, rhyme_b, end_b = (np.stack(x) for x in zip(*plan_rows))
    rules = [PositionMask(mask_b, vocab.masks)]
    if req.tones != "off":
        rules.append(Rhyme(rhyme_b, np.tile(groups0, (n, 1))))
    return Plan(forced=forced_b, rules=with_common_rules(rules, req, n, bias, end_b), layout=where)


def _layout(tok: Tokenizer, req: Request) -> tuple[np.ndarray, dict[tuple[int, int], int]]:
    length, count = SHAPE_OF_FORM[req.form]
    return layout(tok.opening(req.form, req.collection), tok, [length] * count, "，。" * (count // 2))


def layout(opening: list[int], tok: Tokenizer, lengths: list[int], marks: str) -> tuple[
        np.ndarray, dict[tuple[int, int], int]]:
    """The opening, the marks and <eos> forced at their columns, and the column of each
    character slot by (line, position), for lines of these lengths and marks."""
    forced = np.full(len(opening) + sum(lengths) + len(lengths) + 1, -1, np.int32)
    forced[: len(opening)] = opening
    where: dict[tuple[int, int], int] = {}
    col = len(opening)
    for line, (length, mark) in enumerate(zip(lengths, marks)):
        for pos in range(length):
            where[(line, pos)] = col
            col += 1
        forced[col] = tok.index[mark]
        col += 1
    forced[col] = tok.eos
    return forced, where


def _fixed_characters(vocab: Vocabulary, req: Request) -> dict[tuple[int, int], int]:
    length, count = SHAPE_OF_FORM[req.form]
    return fixed_characters(vocab, req, [length] * count, req.form)


def fixed_characters(vocab: Vocabulary, req: Request, lengths: list[int], what_form: str) -> dict[
        tuple[int, int], int]:
    """(line, position) -> character id fixed by the start text, 藏头 and 藏尾, or a clear
    error where they clash or do not fit the form (lines of these lengths)."""
    fixed: dict[tuple[int, int], int] = {}

    def fix(key, token, what):
        if key in fixed and fixed[key] != token:
            raise GenerationError("clash", what=what, char=vocab.char(token), other=vocab.char(fixed[key]),
                                  line=key[0] + 1, position=key[1] + 1)
        fixed[key] = token

    start_chars = [t for t in req.start if t >= vocab.tokenizer.first_char]
    if len(start_chars) > sum(lengths):
        raise GenerationError("start_longer", count=len(start_chars), form=what_form, limit=sum(lengths))
    slots = [(i, j) for i, n in enumerate(lengths) for j in range(n)]
    for key, token in zip(slots, start_chars):
        fix(key, token, "start")
    for name, chars, last in (("acrostic", req.heads, False), ("tail", req.tails, True)):
        if chars and len(chars) != len(lengths):
            raise GenerationError("per_line", what=name, lines=len(lengths), form=what_form, count=len(chars))
        for i, token in enumerate(chars):
            fix((i, lengths[i] - 1 if last else 0), token, name)
    return fixed


def with_common_rules(rules: list, req: Request, n: int, bias, line_end) -> tuple:
    """The theme first (it adds to the logits that the masks then cut), then the form's own
    rules, then those of any form."""
    head = [Theme(bias)] if bias is not None else []
    tail = ([NoRepeat(req.max_repeat, n)] if req.max_repeat > 0 else []) + (
        [NoCopy(line_end)] if req.no_copy else [])
    return (*head, *rules, *tail)


def _patterns_for(vocab: Vocabulary, req: Request, fixed: dict) -> list[Pattern]:
    """The 格律 patterns that every fixed character fits (all of them unless tones are strict)."""
    options = list(patterns(req.form))
    if req.pattern is not None:
        options = [p for p in options if p.name == req.pattern]
        if not options:
            names = "、".join(p.name for p in patterns(req.form))
            raise GenerationError("pattern", value=req.pattern, form=req.form, choices=names)
    if req.tones != "strict":
        return options
    fitting, reasons = [], []
    for p in options:
        clash = next(((i, j, t) for (i, j), t in fixed.items()
                      if p.fixed_tone(i, j) is not None
                      and not (vocab.ping if p.fixed_tone(i, j) == PING else vocab.ze)[t]), None)
        if clash is None:
            fitting.append(p)
        else:
            i, j, t = clash
            reasons.append(f"{vocab.char(t)!r} at line {i + 1}, character {j + 1} needs {p.lines[i][j]}")
    if not fitting:
        raise GenerationError("no_pattern", reasons="; ".join(sorted(set(reasons))))
    return fitting


def _rhyme_groups(vocab: Vocabulary, req: Request, fixed: dict, candidates: list[Pattern],
                  length: int, rhyme_lines: tuple[int, ...]) -> np.ndarray:
    """Rhyme groups a poem may start with: the chosen one, or every group big enough for the
    rhymes still to write, narrowed by any fixed rhyme character."""
    g = vocab.members.shape[1]
    if req.tones == "off":
        return np.ones(g, bool)
    lines = set(rhyme_lines) | {i for p in candidates for i in p.rhymes}
    needed = len(lines)
    allowed = vocab.group_sizes >= max(needed * 3, 8)  # tiny groups make stilted poems
    if req.rhyme is not None:
        if vocab.group_sizes[req.rhyme] < needed:
            raise GenerationError("small_group", group=vocab.table.groups[req.rhyme],
                                  size=int(vocab.group_sizes[req.rhyme]), form=req.form, needed=needed)
        allowed = np.zeros(g, bool)
        allowed[req.rhyme] = True
    for (i, j), token in fixed.items():
        if j == length - 1 and i in lines:
            if not vocab.members[token].any():
                raise GenerationError("no_ping", char=vocab.char(token), line=i + 1)
            allowed &= vocab.members[token]
    if not allowed.any():
        raise GenerationError("rhymes_disagree",
                              group=f" with {vocab.table.groups[req.rhyme]}" if req.rhyme is not None else "")
    return allowed


def free_lead(tok: Tokenizer, collection: str) -> list[int]:
    """The tokens forced before a free poem's form token: the collection's, where the model
    knows collections (the form is left to the model)."""
    return tok.opening(OTHER, collection)[:-1]


def _plan_free(vocab: Vocabulary, req: Request, n: int, bias) -> Plan:
    if req.heads or req.tails:
        raise GenerationError("acrostic_form")
    if req.tones != "off":
        raise GenerationError("free_tones")
    length = req.max_len
    lead = free_lead(vocab.tokenizer, req.collection)
    form_col = len(lead)
    if len(req.start) + form_col + 2 > length:
        raise GenerationError("start_too_long", limit=length)
    forced = np.full(length, -1, np.int32)
    mask_id = np.full(length, MASK_BODY, np.int32)
    forced[:form_col] = lead
    mask_id[form_col] = MASK_FORMS  # the model chooses the form
    if req.opening is not None:  # a rewrite keeps the original poem's choice
        forced[form_col] = req.opening
    forced[form_col + 1 : form_col + 1 + len(req.start)] = req.start
    rules = [PositionMask(np.tile(mask_id, (n, 1)), vocab.masks), LineStart(), EndAfterPeriod()]
    # Free form has no fixed line ends: the no-copy rule blocks the mark after a copied line.
    no_line_ends = np.zeros((n, length), bool)
    return Plan(forced=np.tile(forced, (n, 1)), rules=with_common_rules(rules, req, n, bias, no_line_ends))
