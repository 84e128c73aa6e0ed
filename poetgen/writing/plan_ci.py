"""Ci by 词牌: a request for a tune becomes a plan: its lines and marks forced, its tones and
rhyme chains as rule inputs (checking a ci is `cipu.check_ci`, which needs no model)."""

from __future__ import annotations

import numpy as np

from ..errors import GenerationError
from ..text.forms import CI, SONGCI
from ..verse.ci_rhymes import NAMES as BU_NAMES
from ..verse.pingshui import PING, ZE
from ..verse.tunes import CiPattern, find
from .plan import Plan
from .plan_common import fixed_characters, layout, with_common_rules
from .request import Request
from .rules import MAX_CHAINS, CiRhyme, PositionMask
from .vocabulary import MASK_CHARS, MASK_PING, MASK_ZE, Vocabulary, roomy

MIN_COPY_LINE = 4  # a line of two or three characters is a phrase, not a line one can copy


def plan_ci(vocab: Vocabulary, req: Request, n: int, bias: np.ndarray | None = None) -> Plan:
    """Every poem of the batch gets the same plan: a tune has one pattern."""
    pattern = find(req.cipai)
    tok = vocab.tokenizer
    forced, where = layout(tok.opening(CI, SONGCI, pattern.name), tok, list(pattern.lengths), pattern.marks)
    fixed = fixed_characters(vocab, req, list(pattern.lengths), pattern.name)
    mask_id = np.full(len(forced), MASK_CHARS, np.int32)
    chain_at = np.full(len(forced), -1, np.int32)
    tone_at = np.zeros(len(forced), np.int32)
    line_end = np.zeros(len(forced), bool)
    for (i, j), col in where.items():
        tone = pattern.fixed_tone(i, j)
        is_rhyme = j == pattern.lengths[i] - 1 and pattern.chains[i] >= 0 and req.tones != "off"
        if tone is not None and (req.tones == "strict" or is_rhyme):
            mask_id[col] = MASK_PING if tone == PING else MASK_ZE
        if is_rhyme:
            chain_at[col], tone_at[col] = pattern.chains[i], int(tone == ZE)
        line_end[col] = j == pattern.lengths[i] - 1 and pattern.lengths[i] >= MIN_COPY_LINE
    _check_fixed_tones(vocab, req, pattern, fixed)
    for key, token in fixed.items():
        forced[where[key]] = token
    rules = [PositionMask(np.tile(mask_id, (n, 1)), vocab.masks)]
    if req.tones != "off":
        open_bu = _open_bu(vocab, req, pattern, fixed)
        rules.append(CiRhyme(np.tile(chain_at, (n, 1)), np.tile(tone_at, (n, 1)), np.tile(open_bu, (n, 1, 1))))
    return Plan(forced=np.tile(forced, (n, 1)),
                rules=with_common_rules(rules, req, n, bias, np.tile(line_end, (n, 1))), layout=where)


def _check_fixed_tones(vocab: Vocabulary, req: Request, pattern: CiPattern, fixed: dict) -> None:
    if req.tones != "strict":
        return
    for (i, j), token in sorted(fixed.items()):
        tone = pattern.fixed_tone(i, j)
        if tone is not None and not (vocab.ping if tone == PING else vocab.ze)[token]:
            raise GenerationError("ci_tone", char=vocab.char(token), line=i + 1, position=j + 1, tune=pattern.name,
                                  tone=tone)


def _open_bu(vocab: Vocabulary, req: Request, pattern: CiPattern, fixed: dict) -> np.ndarray:
    """The 部 each rhyme chain may take: big enough in the tones it rhymes in (tiny 部 make
    stilted ci), the one asked for on the first chain, narrowed by any fixed rhyme character."""
    out = np.ones((MAX_CHAINS, len(BU_NAMES)), bool)
    for chain in range(max(pattern.chains) + 1):
        lines = [i for i, c in enumerate(pattern.chains) if c == chain]
        for tone in {int(pattern.rhyme_tone(i) == ZE) for i in lines}:
            needed = sum(int(pattern.rhyme_tone(i) == ZE) == tone for i in lines)
            big = roomy(vocab.ci_sizes[tone], needed)
            # A small vocabulary may have no roomy 部: then any with enough characters at all.
            out[chain] &= big if big.any() else vocab.ci_sizes[tone] >= needed
        if chain == 0 and req.rhyme is not None:
            if not out[chain, req.rhyme]:
                raise GenerationError("small_bu", bu=BU_NAMES[req.rhyme], tune=pattern.name)
            out[chain] = np.arange(len(BU_NAMES)) == req.rhyme
        for i in lines:
            token = fixed.get((i, pattern.lengths[i] - 1))
            if token is not None:
                out[chain] &= vocab.ci_members[token, int(pattern.rhyme_tone(i) == ZE)]
        if not out[chain].any():
            raise GenerationError("ci_rhymes_disagree", tune=pattern.name)
    return out
