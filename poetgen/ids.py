"""Poem ids: the model, the seed, the poem's index in its batch and the request, so that the
same poem can be written again exactly."""

from __future__ import annotations

import base64
import binascii
import json

from .defaults import MAX_POEMS
from .errors import GenerationError
from .params import WriteParams

# The id's version: bumped whenever the same model, seed and parameters would give another poem
# (pg2: sampling by one uniform number per row; pg3: the input table's arithmetic and the
# theme's precomputed neighbours, which may round a draw the other way; both 2026-11-23).
ID_PREFIX = "pg3_"
OLD_ID_PREFIXES = ("pg1_", "pg2_")
MAX_ID = 4000


def make_id(model_hash: str, params: WriteParams, seed: int, index: int) -> str:
    payload = {"m": model_hash, "s": seed, "i": index, "p": params.to_id()}
    raw = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
    return ID_PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_id(poem_id, model_hash: str) -> tuple[WriteParams, int, int]:
    """(parameters, seed, index) of an id made by this model; a clear error otherwise."""
    if isinstance(poem_id, str) and poem_id.startswith(OLD_ID_PREFIXES):
        raise GenerationError(f"the id was made by an earlier poetgen ({poem_id[:3]}) that sampled "
                              f"differently: this version cannot rebuild that poem exactly")
    if not isinstance(poem_id, str) or not poem_id.startswith(ID_PREFIX) or len(poem_id) > MAX_ID:
        raise GenerationError(f"not a poetgen poem id (they start with {ID_PREFIX!r})")
    body = poem_id[len(ID_PREFIX):]
    try:
        payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        model, seed, index, params = payload["m"], payload["s"], payload["i"], payload["p"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise GenerationError("the poem id is damaged: it does not decode") from None
    if model != model_hash:
        raise GenerationError(f"the poem id was made by model {model}, this is model {model_hash}")
    if not isinstance(index, int) or not 0 <= index < 3 * MAX_POEMS:
        raise GenerationError("the poem id is damaged: its parameters are incomplete")
    return WriteParams.from_id(params), seed, index
