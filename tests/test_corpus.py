import json

import pytest

from poetgen import corpus
from poetgen.errors import CorpusError


def test_clean_text_removes_notes_keeps_restored_characters():
    text, reason = corpus.clean_text("朝辭白帝彩雲間（一作「開」），千里江陵一日[還]。")
    assert reason == ""
    assert text == "朝辭白帝彩雲間，千里江陵一日還。"


def test_clean_text_removes_nested_notes():
    text, _ = corpus.clean_text("山中何所有，嶺上多白雲。（〖1〗見《某書》（卷三））")
    assert text == "山中何所有，嶺上多白雲。"


def test_clean_text_maps_punctuation_and_closes_the_poem():
    assert corpus.clean_text("噫吁嚱！危乎高哉！長跪而致辭：")[0] == "噫吁嚱。危乎高哉。長跪而致辭。"
    assert corpus.clean_text("問春桂：桃李正芬華、年光隨處滿")[0] == "問春桂，桃李正芬華，年光隨處滿。"


@pytest.mark.parametrize("raw,reason", [
    ("冰□已鏤津，花餘凝地雪。", "placeholder"),
    ("妖韶援綠{𥫗/戢}。", "placeholder"),
    ("（詩佚）", "empty"),
    ("未閉合（的注釋，花餘凝地雪。", "residue"),
])
def test_clean_text_drops_unusable_poems(raw, reason):
    assert corpus.clean_text(raw) == (None, reason)


def test_forms_by_shape():
    assert corpus.form_of(["床前明月光", "疑是地上霜", "舉頭望明月", "低頭思故鄉"]) == "五绝"
    assert corpus.form_of(["一二三四五六七"] * 4) == "七绝"
    assert corpus.form_of(["一二三四五"] * 8) == "五律"
    assert corpus.form_of(["一二三四五六七"] * 8) == "七律"
    assert corpus.form_of(["一二三四五"] * 6) == "其他"
    assert corpus.form_of(["一二三四五", "一二三四五六七", "一二三四五", "一二三四五"]) == "其他"


def test_regulated_poems_get_canonical_punctuation():
    text, form, _ = corpus.normalize_poem(["國破山河在。城春草木深？", "感時花濺淚，恨別鳥驚心！"])
    assert form == "五绝"
    assert text == "國破山河在，城春草木深。感時花濺淚，恨別鳥驚心。"


def test_split_is_a_function_of_the_text():
    texts = [f"第{i}首詩，山水有清音。" for i in range(2000)]
    splits = [corpus.split_of(t) for t in texts]
    assert splits == [corpus.split_of(t) for t in texts]
    share = splits.count("valid") / len(splits)
    assert 0.015 < share < 0.05


def test_prepare_fixture(fixture_dataset, tmp_path):
    stats = corpus.prepare(fixture_dataset, tmp_path / "c")
    rows = corpus.load_split(tmp_path / "c", "train") + corpus.load_split(tmp_path / "c", "valid")
    by_id = {r["id"]: r for r in rows}
    assert set(by_id) == {"a1", "a2", "a3", "a4", "a5"}
    assert {i: r["form"] for i, r in by_id.items()} == {
        "a1": "五绝", "a2": "七绝", "a3": "五律", "a4": "七律", "a5": "其他"}
    assert by_id["a2"]["text"] == "朝辭白帝彩雲間，千里江陵一日還。兩岸猿聲啼不住，輕舟已過萬重山。"
    assert by_id["a3"]["text"].endswith("白頭搔更短，渾欲不勝簪。")
    assert by_id["a5"]["text"] == "山中何所有，嶺上多白雲。只可自怡悅。"
    assert stats["dropped"] == {"dropped_duplicate": 1, "dropped_empty": 1, "dropped_placeholder": 1}
    assert stats["poems_read"] == 8
    for row in rows:
        assert (row in corpus.load_split(tmp_path / "c", corpus.split_of(row["text"])))


def test_prepare_is_byte_identical(fixture_dataset, tmp_path):
    corpus.prepare(fixture_dataset, tmp_path / "one")
    corpus.prepare(fixture_dataset, tmp_path / "two")
    for name in ("train.jsonl", "valid.jsonl", "stats.json"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()


def test_prepare_errors(tmp_path):
    with pytest.raises(CorpusError, match="not found"):
        corpus.prepare(tmp_path / "nowhere", tmp_path / "out")
    bad = tmp_path / "bad" / "quantangshi"
    bad.mkdir(parents=True)
    (bad / "poet.tang.0.json").write_text("[{\"paragraphs\": ", encoding="utf-8")
    with pytest.raises(CorpusError, match="not valid JSON"):
        corpus.prepare(tmp_path / "bad", tmp_path / "out")
    (bad / "poet.tang.0.json").write_text(json.dumps([{"title": "x"}]), encoding="utf-8")
    with pytest.raises(CorpusError, match="poem 0 has no list of strings"):
        corpus.prepare(tmp_path / "bad", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_load_split_rejects_malformed_rows(tmp_path):
    (tmp_path / "train.jsonl").write_text('{"text": "床前明月光，"}\nnot json\n', encoding="utf-8")
    with pytest.raises(CorpusError, match="train.jsonl:2"):
        corpus.load_split(tmp_path, "train")


def test_shipped_corpus_is_clean_and_split_by_hash():
    from conftest import SHIPPED_CORPUS

    stats = json.loads((SHIPPED_CORPUS / "stats.json").read_text(encoding="utf-8"))
    assert stats["corpus_sha256"] == corpus.corpus_hash(SHIPPED_CORPUS)
    valid = corpus.load_split(SHIPPED_CORPUS, "valid")
    assert len(valid) == stats["poems"]["valid"]
    assert all(corpus.split_of(r["text"]) == "valid" for r in valid)
