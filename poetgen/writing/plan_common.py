"""What every plan shares, shi or ci: the forced layout of lines and marks, the
characters the user fixed, the rules every form takes."""

from __future__ import annotations

import numpy as np

from ..errors import GenerationError
from ..model.tokenizer import Tokenizer
from .request import Request
from .rules import NoCopy, NoRepeat, Theme
from .vocabulary import Vocabulary


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
