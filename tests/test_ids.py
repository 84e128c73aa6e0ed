"""Poem ids: short, exact, and the earlier JSON ids still read."""

import base64
import json

import pytest

from poetgen.app.page import EXAMPLES
from poetgen.errors import GenerationError
from poetgen.writing.ids import decode_id, make_id
from poetgen.writing.params import WriteParams

MODEL = "8d2f6280290e"


def sample(params: WriteParams) -> WriteParams:
    """What an id decodes to: the parameters of the one sample it names (never a search)."""
    return params.with_(search="off")


def page_example_params(row) -> WriteParams:
    form, start, acrostic, theme, rhyme, tones, temperature, top_k, top_p, n, seed, script, style, cipai, search, \
        polish = row
    ci = form == "词"
    return WriteParams(form=None if ci else form, cipai=cipai if ci else None, start=start, acrostic=acrostic,
                       theme=theme, rhyme=None if rhyme == "自动" else rhyme, tones=tones, temperature=temperature,
                       top_k=top_k, top_p=top_p, script=script, style=style, search=search, polish=polish)


@pytest.mark.parametrize("row", EXAMPLES)
def test_the_page_examples_have_ids_of_at_most_48_characters(row):
    params = page_example_params(row)
    poem_id = make_id(MODEL, params, row[10], row[9] - 1)
    assert len(poem_id) <= 48, poem_id
    assert decode_id(poem_id, MODEL) == (sample(params), row[10], row[9] - 1)


@pytest.mark.parametrize("params", [
    WriteParams(),
    WriteParams(form="七律", theme="思念故乡的明月", rhyme="陽", temperature=0.7, top_p=0.9, style="宋"),
    WriteParams(start="明月，", form=None, max_tokens=60, no_copy=False, max_repeat=0, opening="<其他>"),
    WriteParams(temperature=1, top_p=0.123456789, tones="off", pattern="仄起首句不入韵", tail="𠀋山"),
    WriteParams(top_k=-3, temperature=0.0, script="simplified", acrostic="春夏秋冬"),
    WriteParams(cipai="水调歌头", rhyme="第七部", theme="中秋"),
])
def test_every_kind_of_value_comes_back_exactly(params):
    for seed, index in ((0, 0), (2**31 - 2, 767)):
        back, s, i = decode_id(make_id(MODEL, params, seed, index), MODEL)
        assert (back, s, i) == (sample(params), seed, index)
        assert [type(getattr(back, f)) for f in back.__dataclass_fields__] == [
            type(getattr(params, f)) for f in params.__dataclass_fields__]


def test_an_id_of_the_earlier_json_format_still_decodes():
    params = WriteParams(form="七绝", acrostic="春夏秋冬")
    payload = {"m": MODEL, "s": 5, "i": 1, "p": {k: v for k, v in params.to_id().items() if k != "style"}}
    old = "pg3_" + base64.urlsafe_b64encode(json.dumps(payload, ensure_ascii=False).encode()).decode().rstrip("=")
    assert decode_id(old, MODEL) == (sample(params), 5, 1)  # an id from before styles reads as 唐


def test_an_earlier_id_rebuilds_unless_it_asked_for_top_k():
    """pg4 ids have pg5's bytes, but top-k drew differently then: those are refused by name."""
    for prefix in ("pg5_", "pg4_"):  # over the defaults of their time: 0.8, no top-p
        old = make_id(MODEL, WriteParams(form="七律", temperature=0.8, top_p=1.0), 1, 2, prefix=prefix)
        assert len(old) < len(make_id(MODEL, WriteParams(form="七律", temperature=0.8, top_p=1.0), 1, 2))
        assert decode_id(old, MODEL)[0] == sample(WriteParams(form="七律", temperature=0.8, top_p=1.0))
    plain = WriteParams(form="七绝", top_p=0.9)
    assert decode_id(make_id(MODEL, plain, 3, 0, prefix="pg4_"), MODEL) == (sample(plain), 3, 0)
    greedy = WriteParams(form="七绝", top_k=40, temperature=0.0)  # greedy ignores top-k
    assert decode_id(make_id(MODEL, greedy, 3, 0, prefix="pg4_"), MODEL) == (sample(greedy), 3, 0)
    top_k = make_id(MODEL, WriteParams(form="七绝", top_k=40), 3, 0)
    assert decode_id(top_k, MODEL)[0].top_k == 40
    with pytest.raises(GenerationError, match="earlier poetgen .pg4. that sampled top-k differently"):
        decode_id(make_id(MODEL, WriteParams(form="七绝", top_k=40), 3, 0, prefix="pg4_"), MODEL)
    payload = {"m": MODEL, "s": 5, "i": 1, "p": WriteParams(top_k=40).to_id()}
    old = "pg3_" + base64.urlsafe_b64encode(json.dumps(payload, ensure_ascii=False).encode()).decode().rstrip("=")
    with pytest.raises(GenerationError, match="earlier poetgen .pg3."):
        decode_id(old, MODEL)


@pytest.mark.parametrize("poem_id,message", [
    ("pg5_", "damaged"), ("pg5_AAAAAAAA", "another model"), ("pg5_!!!", "damaged"), ("pg5_AAAA", "damaged"),
    ("hello", "not a poetgen poem id"), ("pg2_xyz", "earlier poetgen"), (None, "not a poetgen poem id"),
])
def test_bad_ids_are_named(poem_id, message):
    with pytest.raises(GenerationError, match=message):
        decode_id(poem_id, MODEL)


def test_a_truncated_id_is_damaged_not_a_crash():
    poem_id = make_id(MODEL, WriteParams(theme="思念故乡的明月"), 1, 0)
    for cut in range(5, len(poem_id)):
        try:
            decode_id(poem_id[:cut], MODEL)
        except GenerationError:
            pass


def test_ids_from_before_rhyme_as_read_rebuild_without_it():
    """pg6 ids and the formats before it were made before a 多音字's rhyme was held to its reading:
    they decode with rhyme_as_read off, so they plan (and write) the poem they named; pg7 ids record
    it only where it is off."""
    before = WriteParams(form="七律", rhyme_as_read=False)
    old = make_id(MODEL, before, 1, 2, prefix="pg6_")
    assert old == "pg6_" + make_id(MODEL, WriteParams(form="七律"), 1, 2)[4:]  # the bytes an old id had
    assert decode_id(old, MODEL)[0] == sample(before)
    assert decode_id(make_id(MODEL, WriteParams(form="七律"), 1, 2), MODEL)[0].rhyme_as_read
    assert decode_id(make_id(MODEL, before, 1, 2), MODEL)[0] == sample(before)
    payload = {"m": MODEL, "s": 5, "i": 1, "p": {k: v for k, v in before.to_id().items() if k != "rhyme_as_read"}}
    old_json = "pg3_" + base64.urlsafe_b64encode(json.dumps(payload, ensure_ascii=False).encode()).decode().rstrip("=")
    assert decode_id(old_json, MODEL)[0] == sample(before)
