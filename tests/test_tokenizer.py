import json

import pytest

from poetgen.errors import ModelError
from poetgen.model.tokenizer import SPECIALS, Tokenizer


def test_vocabulary_order_is_frequency_then_code_point():
    tok = Tokenizer.build(["山山山水水月", "月風"], min_count=1)
    chars = tok.tokens[tok.first_char:]
    # 山 3, 水 2, 月 2, 風 1: the 水/月 tie is broken by code point, never by chance
    assert chars == ["山", *sorted(["水", "月"]), "風"]
    assert tok.tokens[: len(SPECIALS)] == list(SPECIALS)
    assert Tokenizer.build(["月風", "山山山水水月"], min_count=1).tokens == tok.tokens


def test_min_count_cuts_rare_characters_to_unknown():
    tok = Tokenizer.build(["山山水"], min_count=2)
    assert "水" not in tok.index
    ids = tok.encode("山水，", form="五绝")
    assert ids == [tok.bos, tok.form_token("五绝"), tok.index["山"], tok.unk, tok.comma, tok.eos]


def test_round_trip_and_save_load(tmp_path):
    text = "床前明月光，疑是地上霜。舉頭望明月，低頭思故鄉。"
    tok = Tokenizer.build([text], min_count=1)
    assert tok.decode(tok.encode(text, form="五绝")) == text
    tok.save(tmp_path / "vocab.json")
    again = Tokenizer.load(tmp_path / "vocab.json")
    assert again.tokens == tok.tokens
    assert again.encode(text) == tok.encode(text)
    assert tok.missing("明月照𠀋x") == ["照", "𠀋", "x"]


@pytest.mark.parametrize("content,message", [
    ("{", "unreadable"),
    (json.dumps({"tokens": ["a"]}), "not a poetgen vocabulary"),
    (json.dumps({"format": "poetgen-vocab-1", "tokens": "abc"}), "must be a list"),
    (json.dumps({"format": "poetgen-vocab-1", "tokens": ["<pad>", "x"]}), "special tokens"),
])
def test_bad_vocab_files(tmp_path, content, message):
    (tmp_path / "vocab.json").write_text(content, encoding="utf-8")
    with pytest.raises(ModelError, match=message):
        Tokenizer.load(tmp_path / "vocab.json")


def test_missing_vocab_file(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        Tokenizer.load(tmp_path / "vocab.json")


def test_conditioned_vocabulary_opens_with_collection_and_form_or_tune(tmp_path):
    from poetgen.model.tokenizer import MIN_TUNE_POEMS

    tunes = ["浣溪沙"] * MIN_TUNE_POEMS + ["菩萨蛮"] * (MIN_TUNE_POEMS - 1) + [""]
    tok = Tokenizer.build(["山水，月。"], min_count=1, tunes=tunes)
    assert tok.conditioned and tok.tunes == ("浣溪沙",)
    assert tok.opening("七律", "宋诗") == [tok.index["<宋诗>"], tok.form_token("七律")]
    assert tok.opening("词", "宋词", "浣溪沙") == [tok.index["<宋词>"], tok.index["<词牌:浣溪沙>"]]
    # A tune below the threshold shares the generic ci token.
    assert tok.opening("词", "宋词", "菩萨蛮") == [tok.index["<宋词>"], tok.index["<词>"]]
    ids = tok.encode("山水，", opening=tok.opening("词", "宋词", "浣溪沙"))
    assert tok.decode(ids) == "山水，"
    assert tok.tokens[tok.first_char - 2 : tok.first_char] == ["，", "。"]
    tok.save(tmp_path / "vocab.json")
    again = Tokenizer.load(tmp_path / "vocab.json")
    assert again.tokens == tok.tokens and again.conditioned and again.first_char == tok.first_char


def test_format_1_vocabulary_opens_with_the_form_alone():
    tok = Tokenizer.build(["山水，月。"], min_count=1)
    assert not tok.conditioned
    assert tok.opening("七律", "宋诗") == [tok.form_token("七律")]
    assert tok.opening("词", "宋词", "浣溪沙") == [tok.form_token("其他")]
