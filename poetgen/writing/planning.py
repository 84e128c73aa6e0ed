"""Turning a request (form, start text, acrostic, rhyme, tones, theme...) into a sampler Plan.

Static constraints become per-position forced tokens or allowed-token masks fixed before
decoding; the plan lists the rule objects (`poetgen.rules`) that run inside the compiled loop.
"""

from __future__ import annotations

import numpy as np

from ..errors import GenerationError
from ..model.tokenizer import Tokenizer
from ..text.forms import FORMS, OTHER, SHAPE_OF_FORM
from ..verse.patterns import Pattern, patterns
from ..verse.pingshui import PING
from .plan import Plan
from .plan_common import fixed_characters, layout, with_common_rules
from .request import FREE, Request
from .rules import EndAfterPeriod, LineStart, PositionMask, Rhyme, RhymeReading
from .vocabulary import MASK_BODY, MASK_CHARS, MASK_FORMS, MASK_PING, MASK_ZE, Vocabulary, roomy


def default_rhyme_lines(form: str) -> tuple[int, ...]:
    """Even lines rhyme; 七言 usually rhymes its first line too, 五言 usually not."""
    length, count = SHAPE_OF_FORM[form]
    return tuple(i for i in range(count) if i % 2 == 1 or (i == 0 and length == 7))


def plan_request(vocab: Vocabulary, req: Request, n: int, seed: int,
                 bias: np.ndarray | None = None) -> Plan:
    if req.form == FREE:
        return _plan_free(vocab, req, n, bias)
    if req.cipai is not None:
        from .plan_ci import plan_ci  # ci.py builds on this module's layout helpers

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
        if req.rhyme_as_read:
            rules.append(RhymeReading(rhyme_b, np.tile(groups0, (n, 1))))
    return Plan(forced=forced_b, rules=with_common_rules(rules, req, n, bias, end_b), layout=where)


def _layout(tok: Tokenizer, req: Request) -> tuple[np.ndarray, dict[tuple[int, int], int]]:
    length, count = SHAPE_OF_FORM[req.form]
    return layout(tok.opening(req.form, req.collection), tok, [length] * count, "，。" * (count // 2))


def _fixed_characters(vocab: Vocabulary, req: Request) -> dict[tuple[int, int], int]:
    length, count = SHAPE_OF_FORM[req.form]
    return fixed_characters(vocab, req, [length] * count, req.form)


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
    allowed = roomy(vocab.group_sizes, needed)
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
