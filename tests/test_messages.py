"""Every message a user can meet is declared once with both texts (poetgen/messages.py): each
error the page can reach is raised by its code, and its Chinese never echoes strange user text."""

import ast
import string
from pathlib import Path

import pytest

from poetgen.errors import GenerationError, ModelError
from poetgen.messages import MESSAGES, quoted
from poetgen.verse.check import check_text
from poetgen.verse.tunes import find
from poetgen.writing.ids import decode_id

PACKAGE = Path(__file__).resolve().parent.parent / "poetgen"
CODED = ("GenerationError", "PictureError")


def fields_of(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("code", sorted(MESSAGES))
def test_each_message_has_both_texts_over_the_same_values(code):
    english, chinese = MESSAGES[code]
    assert english.strip() and chinese.strip()
    assert any("\u4e00" <= ch <= "\u9fff" for ch in chinese), chinese
    assert fields_of(chinese) <= fields_of(english), code  # the raise site gives what both need


def test_every_error_a_visitor_can_meet_is_raised_by_its_code():
    """No GenerationError (or PictureError) anywhere in the package is raised with free text: a
    message without its Chinese would reach the page in English."""
    found = 0
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in CODED:
                found += 1
                first = node.args[0] if node.args else None
                assert isinstance(first, ast.Constant) and first.value in MESSAGES, \
                    f"{path.name}:{node.lineno} raises {node.func.id} without a message code"
    assert found > 40


def chinese_of(call) -> str:
    with pytest.raises(GenerationError) as err:
        call()
    assert err.value.code in MESSAGES
    return err.value.chinese


@pytest.mark.parametrize("call, words", [
    (lambda: find("浣沙溪"), ["浣沙溪", "浣溪沙"]),
    (lambda: find(" "), ["词牌名"]),
    (lambda: check_text(""), ["检查"]),
    (lambda: check_text("好" * 3000), ["3000"]),
    (lambda: check_text("白日\ud800依山尽，黄河入海流。"), ["无法识别"]),
    (lambda: decode_id("hello", "abc"), ["编号"]),
    (lambda: decode_id("pg5_!!!!", "abc"), ["损坏"]),
])
def test_messages_the_page_can_meet_are_in_chinese(call, words):
    text = chinese_of(call)
    assert all(w in text for w in words), text
    assert not any("a" <= ch.lower() <= "z" for ch in text.replace("pg7_", "")), text


def test_request_errors_in_chinese(tiny_poet):
    for kwargs, words in ((dict(form="七绝", acrostic="春夏秋"), ["藏头", "4", "3"]),
                          (dict(form="七绝", start="明月" * 20), ["起句", "40", "28"]),
                          (dict(form="七绝", rhyme="无此韵"), ["平水韵韵部"]),
                          (dict(cipai="浣溪沙", form="七律"), ["七律", "浣溪沙"]),
                          (dict(form="七绝", temperature=1e308), ["温度"]),
                          (dict(form="七绝", acrostic="𠀋山水月"), ["藏头", "𠀋"])):
        text = chinese_of(lambda: tiny_poet.write(seed=0, **kwargs))  # noqa: B023
        assert all(w in text for w in words), (kwargs, text)


def test_user_text_is_quoted_only_when_short_and_plain():
    assert quoted("浣沙溪") == "“浣沙溪”"
    assert quoted("<script>alert(1)</script>") == ""
    assert quoted("长" * 40) == ""
    text = chinese_of(lambda: find("<script>alert(1)</script>"))
    assert "script" not in text and "<" not in text and text.startswith("没有")
    theme = chinese_of(lambda: find("x" * 30))
    assert "x" not in theme


def test_an_operators_error_keeps_its_english():
    error = ModelError("models/x not found: not a poetgen model directory")
    assert error.code is None and error.chinese == str(error) == "models/x not found: not a poetgen model directory"
