"""Poem ids: the model, the seed, the poem's index in its batch and the request, so that the
same poem can be written again exactly.

An id is `pg7_` and the base64url of a few bytes: 3 of the model's hash, the seed and the index
as varints, then only the parameters that differ from WriteParams's defaults, each a byte
(field index × 8 + kind) and its value: a choice from a known list as its index, a string in
GB18030 (two bytes a common Han character), a number as a varint or in thousandths: 14 to 38
characters for the recorded poems of the tests, at most 48 for the page's examples. Ids of the
earlier formats still decode: `pg6_` holds the same bytes over the defaults of its time (no
rhyme_as_read), `pg5_` and `pg4_` over those of theirs (temperature 0.8, no top-p, no
rhyme_as_read), `pg3_` is JSON; those of pg4 and pg3 that asked for top-k
sampling are refused, as top-k draws differently since pg5 (see sampling.sample_top_k)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import fields

from ..defaults import MAX_POEMS, MAX_SEED
from ..errors import GenerationError
from ..model.tokenizer import FORM_TOKENS
from ..text.forms import FORMS
from ..text.script import SCRIPTS
from .params import FREE, SEARCH_WIDTH, SEARCHES, TONE_LEVELS, WriteParams

ID_PREFIX = "pg7_"
BEFORE_READINGS_PREFIX = "pg6_"  # the same bytes over the defaults before rhyme_as_read (False)
BEFORE_SEARCH_PREFIX = "pg5_"  # the same bytes over the defaults before search (temperature 0.8, no top-p)
TOP_K_CHANGED_PREFIX = "pg4_"  # the same bytes as pg5; top-k drew among the whole vocabulary
JSON_PREFIX = "pg3_"  # base64 of JSON; the sampler of pg4
OLD_ID_PREFIXES = ("pg1_", "pg2_")
MAX_ID = 4000  # characters of an id: far more than any request of the limits below needs
MAX_INDEX = 3 * MAX_POEMS * SEARCH_WIDTH  # a poem's place in its batch (rerank writes 3n, search SEARCH_WIDTH each)
MAX_VARINT_BYTES = 5  # 35 bits: every seed, index, count and thousandth fits
FIELDS = [f.name for f in fields(WriteParams)]
DEFAULTS = WriteParams().to_id()
# The defaults each prefix's bytes are read over: an id records only what differs from them.
DEFAULTS_OF = {ID_PREFIX: DEFAULTS, BEFORE_READINGS_PREFIX: {**DEFAULTS, "rhyme_as_read": False},
               **dict.fromkeys((BEFORE_SEARCH_PREFIX, TOP_K_CHANGED_PREFIX),
                               {**DEFAULTS, "temperature": 0.8, "top_p": 1.0, "rhyme_as_read": False})}
# Values of the fields with few choices: an id stores the index.
CHOICES = {
    "form": (None, *FORMS, FREE, ""), "script": SCRIPTS, "tones": (None, *TONE_LEVELS),
    "style": ("唐", "宋", "唐诗", "宋诗", "tang", "song"), "opening": (None, *FORM_TOKENS),
    "search": SEARCHES,  # append only: an id stores the index
}
NONE, CHOICE, TEXT, WHOLE, THOUSANDTHS, FALSE, TRUE, FLOAT = range(8)


def _varint(n: int) -> bytes:
    n = n * 2 if n >= 0 else -n * 2 - 1  # zigzag: small negatives stay short
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def _read_varint(data: bytes, at: int) -> tuple[int, int]:
    """A zigzag varint of at most MAX_VARINT_BYTES bytes: a forged id cannot make a huge number."""
    n = shift = 0
    for _ in range(MAX_VARINT_BYTES):
        byte = data[at]
        n |= (byte & 0x7F) << shift
        at, shift = at + 1, shift + 7
        if not byte & 0x80:
            return (n // 2 if n % 2 == 0 else -(n + 1) // 2), at
    raise ValueError("varint too long")


def _value(name: str, value) -> bytes:
    """One parameter: its kind and its value's bytes."""
    if name in CHOICES and value in CHOICES[name]:
        return bytes([CHOICE]) + _varint(CHOICES[name].index(value))
    if value is None:
        return bytes([NONE])
    if isinstance(value, bool):
        return bytes([TRUE if value else FALSE])
    if isinstance(value, int):
        return bytes([WHOLE]) + _varint(value)
    if isinstance(value, float):
        if round(value * 1000) / 1000 == value:
            return bytes([THOUSANDTHS]) + _varint(round(value * 1000))
        raw = repr(value).encode("ascii")
        return bytes([FLOAT]) + _varint(len(raw)) + raw
    raw = str(value).encode("gb18030")
    return bytes([TEXT]) + _varint(len(raw)) + raw


def model_tag(model_hash: str) -> bytes:
    """3 bytes naming the model: the start of its weights' sha256 (of the name, for a model
    never saved)."""
    try:
        return bytes.fromhex(model_hash[:6])
    except ValueError:
        return hashlib.sha256(model_hash.encode()).digest()[:3]


def make_id(model_hash: str, params: WriteParams, seed: int, index: int, prefix: str = ID_PREFIX) -> str:
    """The id of a poem; `prefix` names an earlier format, which tests use to make old ids."""
    defaults = DEFAULTS_OF[prefix]
    body = bytearray(model_tag(model_hash))
    body += _varint(seed) + _varint(index)
    for name, value in params.to_id().items():
        if name not in defaults or value != defaults[name] or type(value) is not type(defaults[name]):
            kind_and_value = _value(name, value)
            body += bytes([FIELDS.index(name) * 8 + kind_and_value[0]]) + kind_and_value[1:]
    return prefix + base64.urlsafe_b64encode(bytes(body)).decode().rstrip("=")


def _read_params(data: bytes, at: int, defaults: dict) -> dict:
    """The parameters after the seed and index. Every read moves forward within the data (a
    length is checked before it is used), so any bytes decode or fail in a bounded time."""
    params = dict(defaults)
    while at < len(data):
        field, kind = divmod(data[at], 8)
        if field >= len(FIELDS):
            raise ValueError("unknown field")
        name, at = FIELDS[field], at + 1
        if kind == CHOICE:
            index, at = _read_varint(data, at)
            if name not in CHOICES or not 0 <= index < len(CHOICES[name]):
                raise ValueError("unknown choice")
            params[name] = CHOICES[name][index]
        elif kind in (NONE, FALSE, TRUE):
            params[name] = {NONE: None, FALSE: False, TRUE: True}[kind]
        elif kind in (WHOLE, THOUSANDTHS):
            number, at = _read_varint(data, at)
            params[name] = number if kind == WHOLE else number / 1000
        elif kind in (TEXT, FLOAT):
            size, at = _read_varint(data, at)
            if not 0 <= size <= len(data) - at:
                raise ValueError("truncated")
            raw, at = data[at:at + size], at + size
            params[name] = raw.decode("gb18030") if kind == TEXT else float(raw.decode("ascii"))
        else:
            raise ValueError("unknown kind")
    return params


def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def searched_again(params: WriteParams) -> bool:
    """Whether an id of these parameters is rebuilt by searching or polishing again, which asks
    the backward model too: such an id names both models (id_hash)."""
    return params.search == "lines" or params.polish


def id_hash(params: WriteParams, model_hash: str, both_hash: str) -> str:
    """The model hash an id of these parameters records."""
    return both_hash if searched_again(params) else model_hash


def decode_id(poem_id, model_hash: str, both_hash: str | None = None) -> tuple[WriteParams, int, int]:
    """(parameters, seed, index) of an id made by this model (and, for a poem searched or
    polished again, this backward partner: `both_hash`); a clear error otherwise."""
    if isinstance(poem_id, str) and poem_id.startswith(OLD_ID_PREFIXES):
        raise GenerationError("old_id", prefix=poem_id[:3])
    if not isinstance(poem_id, str) or len(poem_id) > MAX_ID or \
            not poem_id.startswith((*DEFAULTS_OF, JSON_PREFIX)):
        raise GenerationError("not_an_id", prefix=ID_PREFIX)
    body = poem_id[len(ID_PREFIX):]
    try:
        data = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        if poem_id.startswith(JSON_PREFIX):
            payload = json.loads(data)
            model, seed, index, params = model_tag(payload["m"]), payload["s"], payload["i"], payload["p"]
        else:
            model, (seed, at) = data[:3], _read_varint(data, 3)
            index, at = _read_varint(data, at)
            params = _read_params(data, at, DEFAULTS_OF[poem_id[:len(ID_PREFIX)]])
    except (binascii.Error, ValueError, KeyError, TypeError, IndexError, UnicodeDecodeError, RecursionError):
        raise GenerationError("damaged_id", why="it does not decode") from None
    if model not in (model_tag(model_hash), model_tag(both_hash or model_hash)):
        raise GenerationError("other_model_id", model=model_hash)
    if not _whole(index) or not 0 <= index < MAX_INDEX or not _whole(seed) or not 0 <= seed <= MAX_SEED:
        raise GenerationError("damaged_id", why="its seed or place is out of range")
    params = WriteParams.from_id(params)
    if model != model_tag(id_hash(params, model_hash, both_hash or model_hash)):
        raise GenerationError("other_model_id", model=model_hash)
    if params.search == "lines" and index >= MAX_POEMS:  # a line-searched id counts poems, not candidates
        raise GenerationError("damaged_id", why="its seed or place is out of range")
    if poem_id.startswith((TOP_K_CHANGED_PREFIX, JSON_PREFIX)) and params.top_k and params.temperature:
        raise GenerationError("old_top_k_id", prefix=poem_id[:3])
    return params, seed, index
