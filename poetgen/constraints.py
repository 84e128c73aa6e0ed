"""Turning a request (form, start text, ...) into a sampler Plan.

Static constraints become per-position forced tokens or allowed-token masks, fixed before
decoding; the sampler's dynamic rules handle what depends on the text written so far.
"""

from __future__ import annotations

import numpy as np

from .corpus import FORMS, SHAPE_OF_FORM
from .errors import GenerationError
from .sampler import Plan
from .tokenizer import Tokenizer

FREE = "free"
MASK_CHARS, MASK_BODY, MASK_FORMS = 0, 1, 2


def base_masks(tokenizer: Tokenizer) -> np.ndarray:
    """[chars only, chars + line marks + end, form tokens]: <unk> and <pad> are never sampled."""
    v = len(tokenizer)
    masks = np.zeros((3, v), bool)
    masks[MASK_CHARS, tokenizer.first_char :] = True
    masks[MASK_BODY, tokenizer.first_char :] = True
    masks[MASK_BODY, [tokenizer.comma, tokenizer.period, tokenizer.eos]] = True
    masks[MASK_FORMS, [tokenizer.form_token(f) for f in (*FORMS, "其他")]] = True
    return masks


def form_template(form: str) -> list[str]:
    """The slots of a regulated poem: 'C' a character, then '，' / '。', then '<eos>'."""
    length, lines = SHAPE_OF_FORM[form]
    slots: list[str] = []
    for i in range(lines):
        slots += ["C"] * length + ["，" if i % 2 == 0 else "。"]
    return slots + ["<eos>"]


def plan_request(tokenizer: Tokenizer, n: int, form: str, start_ids: list[int], max_len: int) -> Plan:
    """Plan for n poems of `form` (or FREE) opening with the tokens `start_ids`."""
    masks = base_masks(tokenizer)
    if form == FREE:
        length = max_len
        forced = np.full(length, -1, np.int32)
        mask_id = np.full(length, MASK_BODY, np.int32)
        mask_id[0] = MASK_FORMS  # the model chooses the form
        if len(start_ids) + 2 > length:
            raise GenerationError(f"start text is longer than the length cap of {max_len} tokens")
        forced[1 : 1 + len(start_ids)] = start_ids
        rules = ("line_start", "end_after_period")
    else:
        slots = form_template(form)
        length = 1 + len(slots)
        forced = np.full(length, -1, np.int32)
        mask_id = np.full(length, MASK_CHARS, np.int32)
        forced[0] = tokenizer.form_token(form)
        char_positions = []
        for i, slot in enumerate(slots, start=1):
            if slot == "C":
                char_positions.append(i)
            else:
                forced[i] = tokenizer.index[slot]
        start_chars = [t for t in start_ids if t >= tokenizer.first_char]
        if len(start_chars) > len(char_positions):
            raise GenerationError(
                f"start text has {len(start_chars)} characters but a {form} has only {len(char_positions)}"
            )
        for pos, tok in zip(char_positions, start_chars):
            forced[pos] = tok
        rules = ()
    return Plan(
        forced=np.tile(forced, (n, 1)),
        mask_id=np.tile(mask_id, (n, 1)),
        masks=masks,
        rules=rules,
    )
