"""The page's Chinese for the API's error messages: real messages, each matched by its pattern."""

import pytest

from poetgen.cipu import find
from poetgen.errors import GenerationError
from poetgen.ids import decode_id
from poetgen.prosody import check_text
from poetgen.zh import chinese


def message_of(call) -> str:
    with pytest.raises(GenerationError) as err:
        call()
    return str(err.value)


@pytest.mark.parametrize("call, words", [
    (lambda: find("浣沙溪"), ["浣沙溪", "浣溪沙"]),
    (lambda: find(" "), ["词牌名"]),
    (lambda: check_text(""), ["检查"]),
    (lambda: check_text("好" * 3000), ["3000"]),
    (lambda: decode_id("hello", "abc"), ["编号"]),
    (lambda: decode_id("pg5_!!!!", "abc"), ["损坏"]),
])
def test_messages_the_page_can_meet_are_in_chinese(call, words):
    text = chinese(message_of(call))
    assert not text.startswith("请求有误"), text
    assert all(w in text for w in words), text


def test_request_errors_in_chinese(tiny_poet):
    for kwargs, words in ((dict(form="七绝", acrostic="春夏秋"), ["藏头", "4", "3"]),
                          (dict(form="七绝", start="明月" * 20), ["起句", "40", "28"]),
                          (dict(form="七绝", rhyme="无此韵"), ["平水韵韵部"]),
                          (dict(cipai="浣溪沙", form="七律"), ["七律", "浣溪沙"]),
                          (dict(form="七绝", acrostic="𠀋山水月"), ["藏头", "𠀋"])):
        text = chinese(message_of(lambda: tiny_poet.write(seed=0, **kwargs)))  # noqa: B023
        assert not text.startswith("请求有误") and all(w in text for w in words), (kwargs, text)


def test_an_unknown_message_keeps_its_english_behind_a_chinese_lead():
    assert chinese("something new") == "请求有误：something new"
