import json
import math

import numpy as np
import pytest

from poetgen.corpus import normalize_poem
from poetgen.errors import CorpusError
from poetgen.evaluate import evaluate_poems


def hand_perplexity(model, tok, texts_forms):
    nll, chars = 0.0, 0
    for text, form in texts_forms:
        ids = tok.encode(text, form=form)
        logits = np.asarray(model(np.array([ids[:-1]], np.int32)))[0].astype(np.float64)
        for t in range(1, len(ids) - 1):  # targets after the form token
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
