import json

import pytest

from poetgen.corpus.prepare import clean_text, normalize_poem, prepare, split_of
from poetgen.corpus.splits import corpus_hash, load_split
from poetgen.errors import CorpusError
from poetgen.text.forms import form_of


def test_clean_text_removes_notes_keeps_restored_characters():
    text, reason = clean_text("朝辭白帝彩雲間（一作「開」），千里江陵一日[還]。")
    assert reason == ""
    assert text == "朝辭白帝彩雲間，千里江陵一日還。"


def test_clean_text_removes_nested_notes():
    text, _ = clean_text("山中何所有，嶺上多白雲。（〖1〗見《某書》（卷三））")
    assert text == "山中何所有，嶺上多白雲。"


def test_clean_text_maps_punctuation_and_closes_the_poem():
    assert clean_text("噫吁嚱！危乎高哉！長跪而致辭：")[0] == "噫吁嚱。危乎高哉。長跪而致辭。"
    assert clean_text("問春桂：桃李正芬華、年光隨處滿")[0] == "問春桂，桃李正芬華，年光隨處滿。"


@pytest.mark.parametrize("raw,reason", [
    ("冰□已鏤津，花餘凝地雪。", "placeholder"),
    ("妖韶援綠{𥫗/戢}。", "placeholder"),
    ("（詩佚）", "empty"),
    ("未閉合（的注釋，花餘凝地雪。", "residue"),
])
def test_clean_text_drops_unusable_poems(raw, reason):
    assert clean_text(raw) == (None, reason)


def test_forms_by_shape():
    assert form_of(["床前明月光", "疑是地上霜", "舉頭望明月", "低頭思故鄉"]) == "五绝"
    assert form_of(["一二三四五六七"] * 4) == "七绝"
    assert form_of(["一二三四五"] * 8) == "五律"
    assert form_of(["一二三四五六七"] * 8) == "七律"
    assert form_of(["一二三四五"] * 6) == "其他"
    assert form_of(["一二三四五", "一二三四五六七", "一二三四五", "一二三四五"]) == "其他"


def test_regulated_poems_get_canonical_punctuation():
    text, form, _ = normalize_poem(["國破山河在。城春草木深？", "感時花濺淚，恨別鳥驚心！"])
    assert form == "五绝"
    assert text == "國破山河在，城春草木深。感時花濺淚，恨別鳥驚心。"


def test_split_is_a_function_of_the_text():
    texts = [f"第{i}首詩，山水有清音。" for i in range(2000)]
    splits = [split_of(t) for t in texts]
    assert splits == [split_of(t) for t in texts]
    share = splits.count("valid") / len(splits)
    assert 0.015 < share < 0.05


def test_prepare_fixture(fixture_dataset, tmp_path):
    stats = prepare(fixture_dataset, tmp_path / "c")
    rows = load_split(tmp_path / "c", "train") + load_split(tmp_path / "c", "valid")
    by_title = {r["title"]: r for r in rows}
    assert {t: r["form"] for t, r in by_title.items()} == {
        "靜夜思": "五绝", "早發白帝城": "七绝", "春望": "五律", "登高": "七律", "雜詩": "其他"}
    assert by_title["早發白帝城"]["text"] == "朝辭白帝彩雲間，千里江陵一日還。兩岸猿聲啼不住，輕舟已過萬重山。"
    assert by_title["春望"]["text"].endswith("白頭搔更短，渾欲不勝簪。")
    assert by_title["雜詩"]["text"] == "山中何所有，嶺上多白雲。只可自怡悅。"
    assert all(r["collection"] == "唐诗" for r in rows)
    tang = stats["collections"]["唐诗"]
    assert tang["dropped"] == {"dropped_duplicate": 1, "dropped_empty": 1, "dropped_placeholder": 1}
    assert tang["read"] == stats["poems_read"] == 8
    for row in rows:
        assert (row in load_split(tmp_path / "c", split_of(row["text"])))


def test_prepare_three_collections(fixture_dataset_all, tmp_path):
    stats = prepare(fixture_dataset_all, tmp_path / "c")
    rows = load_split(tmp_path / "c", "train") + load_split(tmp_path / "c", "valid")
    by_title = {(r["collection"], r["title"]): r for r in rows}
    # The Song copy of 靜夜思 is dropped as a duplicate: the text stays a Tang poem.
    assert by_title[("唐诗", "靜夜思")]["form"] == "五绝" and ("宋诗", "靜夜思") not in by_title
    assert stats["collections"]["宋诗"]["dropped"] == {"dropped_duplicate": 1, "dropped_placeholder": 1}
    assert by_title[("宋诗", "題壁")]["text"] == "江南江北雪漫漫，遥知易水寒。此時誰共醉，獨坐望長安。"
    assert by_title[("宋诗", "日詩")]["form"] == "七绝"
    # Ci: converted to traditional by phrase (头发 -> 頭髮, 后来 -> 後來), labelled with the tune.
    ci = by_title[("宋词", "浣溪沙")]
    assert ci["form"] == "词" and ci["cipai"] == "浣溪沙"
    assert ci["text"].startswith("一曲新詞酒一杯。去年天氣舊亭臺。")
    lost = next(r for r in rows if r["collection"] == "宋词" and r["cipai"] == "")
    assert lost["text"] == "頭髮白，後來人。"
    assert stats["collections"]["宋词"]["dropped"] == {"dropped_placeholder": 1}
    assert stats["ci_conversion"]["ci_chars"] == 48
    assert stats["ci_conversion"]["ci_chars_ambiguous"] == 1  # 发 of 头发: 髮 or 發


def test_tang_poems_keep_their_split_when_song_collections_join(fixture_dataset, fixture_dataset_all, tmp_path):
    prepare(fixture_dataset, tmp_path / "tang")
    prepare(fixture_dataset_all, tmp_path / "all")
    for split in ("train", "valid"):
        tang = load_split(tmp_path / "tang", split)
        joined = [r for r in load_split(tmp_path / "all", split) if r["collection"] == "唐诗"]
        assert tang == joined


def test_prepare_is_byte_identical(fixture_dataset_all, tmp_path):
    prepare(fixture_dataset_all, tmp_path / "one")
    prepare(fixture_dataset_all, tmp_path / "two")
    for name in ("train.jsonl.gz", "valid.jsonl.gz", "stats.json"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()


def test_prepare_errors(tmp_path):
    with pytest.raises(CorpusError, match="not found"):
        prepare(tmp_path / "nowhere", tmp_path / "out")
    bad = tmp_path / "bad" / "quantangshi"
    bad.mkdir(parents=True)
    (bad / "poet.tang.0.json").write_text("[{\"paragraphs\": ", encoding="utf-8")
    with pytest.raises(CorpusError, match="not valid JSON"):
        prepare(tmp_path / "bad", tmp_path / "out")
    (bad / "poet.tang.0.json").write_text(json.dumps([{"title": "x"}]), encoding="utf-8")
    with pytest.raises(CorpusError, match="poem 0 has no list of strings"):
        prepare(tmp_path / "bad", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_load_split_rejects_malformed_rows(tmp_path):
    (tmp_path / "train.jsonl").write_text('{"text": "床前明月光，"}\nnot json\n', encoding="utf-8")
    with pytest.raises(CorpusError, match="train.jsonl:2"):
        load_split(tmp_path, "train")


def test_shipped_corpus_is_clean_and_split_by_hash():
    from conftest import SHIPPED_CORPUS

    stats = json.loads((SHIPPED_CORPUS / "stats.json").read_text(encoding="utf-8"))
    assert stats["corpus_sha256"] == corpus_hash(SHIPPED_CORPUS)
    valid = load_split(SHIPPED_CORPUS, "valid")
    assert len(valid) == stats["poems"]["valid"]
    assert {r["collection"] for r in valid} == {"唐诗", "宋诗", "宋词"}
    for path in SHIPPED_CORPUS.iterdir():
        assert path.stat().st_size < 50 * 2**20, f"{path.name} is over 50 MB"
    assert all(split_of(r["text"]) == "valid" for r in valid)
