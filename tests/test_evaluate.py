import json
import math

import numpy as np
import pytest

from poetgen.corpus.prepare import normalize_poem
from poetgen.errors import CorpusError
from poetgen.model.evaluate import evaluate_poems


def hand_perplexity(model, tok, texts_forms):
    nll, chars = 0.0, 0
    for text, form in texts_forms:
        opening = tok.opening(form)
        ids = tok.encode(text, opening=opening)
        logits = np.asarray(model(np.array([ids[:-1]], np.int32)))[0].astype(np.float64)
        for t in range(len(opening), len(ids) - 1):  # targets after the opening
            target = ids[t + 1]
            row = logits[t]
            lp = row[target] - (row.max() + math.log(np.exp(row - row.max()).sum()))
            if target >= tok.first_char or target == tok.unk:
                nll -= lp
                chars += 1
    return math.exp(nll / chars), chars


def test_evaluate_matches_a_hand_computation(tiny_poet, tmp_path):
    poems = [
        {"paragraphs": ["床前明月光，疑是地上霜。", "舉頭望明月，低頭思故鄉。"]},
        {"paragraphs": ["朝辭白帝彩雲間（一作「開」），千里江陵一日還。"]},
        {"paragraphs": ["冰□已鏤津，花餘凝地雪。"]},  # unscorable: skipped, not silently counted
        {"paragraphs": ["龘龘靐靐齉，疑是地上霜。"]},  # characters the vocabulary lacks
    ]
    path = tmp_path / "poems.json"
    path.write_text(json.dumps(poems, ensure_ascii=False), encoding="utf-8")
    result = evaluate_poems(tiny_poet.model, tiny_poet.tokenizer, path)
    normalized = [normalize_poem(p["paragraphs"]) for p in poems]
    scored = [(t, f) for t, f, _ in normalized if t is not None]
    want, chars = hand_perplexity(tiny_poet.model, tiny_poet.tokenizer, scored)
    assert result["poems"] == 3 and result["skipped_poems"] == 1
    assert result["chars"] == chars == 20 + 14 + 10
    assert result["oov_chars"] == sum(1 for t, _ in scored for ch in t if ch not in tiny_poet.tokenizer.index)
    assert result["oov_chars"] >= 5
    assert result["char_perplexity"] == pytest.approx(want, rel=1e-4)
    assert result["token_perplexity"] > 0


def test_evaluate_reads_a_folder_and_rejects_bad_input(tiny_poet, tmp_path):
    (tmp_path / "a.json").write_text(json.dumps([{"paragraphs": ["床前明月光，疑是地上霜。"]}],
                                                ensure_ascii=False), encoding="utf-8")
    (tmp_path / "b.json").write_text(json.dumps([{"paragraphs": ["舉頭望明月，低頭思故鄉。"]}],
                                                ensure_ascii=False), encoding="utf-8")
    assert evaluate_poems(tiny_poet.model, tiny_poet.tokenizer, tmp_path)["poems"] == 2
    with pytest.raises(CorpusError, match="not found"):
        evaluate_poems(tiny_poet.model, tiny_poet.tokenizer, tmp_path / "missing.json")
    (tmp_path / "c.json").write_text('{"paragraphs": 1}', encoding="utf-8")
    with pytest.raises(CorpusError, match="expected a JSON list"):
        evaluate_poems(tiny_poet.model, tiny_poet.tokenizer, tmp_path / "c.json")


def test_split_perplexity_reports_each_subset_from_its_own_poems(tiny_poet, tiny_corpus):
    from poetgen.corpus.splits import load_split
    from poetgen.model.evaluate import REGULATED_TANG, split_perplexity, validation_perplexity

    tok = tiny_poet.tokenizer
    rows = load_split(tiny_corpus, "valid")
    report = split_perplexity(tiny_poet.model, tok, rows)
    assert {"all", REGULATED_TANG, "唐诗", "宋诗", "宋词"} <= set(report)
    assert report["all"]["poems"] == len(rows)
    regulated = ("五绝", "七绝", "五律", "七律")
    for name, pick in ((REGULATED_TANG, lambda r: r["collection"] == "唐诗" and r["form"] in regulated),
                       ("宋词", lambda r: r["collection"] == "宋词")):
        mine = [r for r in rows if pick(r)]
        seqs = [np.asarray(tok.encode(r["text"], opening=tok.row_opening(r)), np.int32) for r in mine]
        alone = validation_perplexity(tiny_poet.model, seqs, tok)
        assert report[name]["poems"] == len(mine) > 0
        assert report[name]["chars"] == alone["chars"]
        assert report[name]["char_perplexity"] == pytest.approx(alone["char_perplexity"], rel=1e-6)


def test_evaluate_converts_a_ci_file_and_opens_it_as_ci(tiny_poet, tmp_path):
    ci = [{"rhythmic": "浣溪沙", "author": "晏殊", "paragraphs": ["一曲新词酒一杯。去年天气旧亭台。"]}]
    path = tmp_path / "ci.song.0.json"
    path.write_text(json.dumps(ci, ensure_ascii=False), encoding="utf-8")
    result = evaluate_poems(tiny_poet.model, tiny_poet.tokenizer, path)
    # scored as the traditional text under <宋词> and the tune (or <词>): the same as by hand
    tok = tiny_poet.tokenizer
    from poetgen.model.evaluate import validation_perplexity

    opening = tok.opening("词", "宋词", "浣溪沙")
    seq = np.asarray(tok.encode("一曲新詞酒一杯。去年天氣舊亭臺。", opening=opening), np.int32)
    by_hand = validation_perplexity(tiny_poet.model, [seq], tok)
    assert result["char_perplexity"] == pytest.approx(by_hand["char_perplexity"])
    assert result["chars"] == 14
