import json
import shutil

import numpy as np
import pytest

from poetgen.errors import ModelError
from poetgen.model.network import ModelConfig, build_model, load_model_dir, round_to_half, save_model_dir
from poetgen.model.tokenizer import Tokenizer


def small(tmp_path, layers=1, proj=8):
    tok = Tokenizer.build(["床前明月光，疑是地上霜。"], min_count=1)
    cfg = ModelConfig(vocab_size=len(tok), embed_dim=8, hidden=12, layers=layers, proj_dim=proj)
    model = build_model(cfg)
    save_model_dir(tmp_path / "m", model, cfg, tok, {"seed": 1}, {"val_char_perplexity": 1.0}, "# card\n")
    return model, cfg, tok


@pytest.mark.parametrize("layers,proj", [(1, 8), (2, 0)])
def test_saved_model_reloads_with_identical_logits(tmp_path, layers, proj):
    model, cfg, tok = small(tmp_path, layers, proj)
    loaded, cfg2, tok2 = load_model_dir(tmp_path / "m")
    assert cfg2 == cfg and tok2.tokens == tok.tokens
    x = np.array([tok.encode("床前明月光，")], np.int32)
    np.testing.assert_array_equal(np.asarray(model(x)), np.asarray(loaded(x)))
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == [
        "README.md", "config.json", "metrics.json", "model.keras", "vocab.json"]


def test_vocab_model_mismatch_is_refused(tmp_path):
    small(tmp_path)
    vocab = json.loads((tmp_path / "m" / "vocab.json").read_text(encoding="utf-8"))
    vocab["tokens"].append("鶴")
    (tmp_path / "m" / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(ModelError, match="vocabulary and model disagree"):
        load_model_dir(tmp_path / "m")


def test_corrupt_or_missing_parts_are_named(tmp_path):
    small(tmp_path)
    with pytest.raises(ModelError, match="model directory not found"):
        load_model_dir(tmp_path / "nope")
    (tmp_path / "m" / "model.keras").write_bytes(b"PK\x03\x04 broken")
    with pytest.raises(ModelError, match="model.keras cannot be loaded"):
        load_model_dir(tmp_path / "m")
    (tmp_path / "m" / "config.json").write_text("{", encoding="utf-8")
    with pytest.raises(ModelError, match="config.json is corrupt"):
        load_model_dir(tmp_path / "m")
    shutil.rmtree(tmp_path / "m")
    (tmp_path / "m").mkdir()
    with pytest.raises(ModelError, match="not a poetgen model directory"):
        load_model_dir(tmp_path / "m")


def test_save_replaces_a_model_directory_whole(tmp_path):
    model, cfg, tok = small(tmp_path)
    (tmp_path / "m" / "stale.txt").write_text("old", encoding="utf-8")
    save_model_dir(tmp_path / "m", model, cfg, tok)
    assert not (tmp_path / "m" / "stale.txt").exists()
    assert not list(tmp_path.glob(".m*"))


def test_half_weights_reload_exactly_as_rounded(tmp_path):
    """float16 on disk: the loaded model is the float32 model rounded to half, bit for bit."""
    model, cfg, tok = small(tmp_path, layers=2, proj=8)
    save_model_dir(tmp_path / "h", model, cfg, tok, half=True)
    assert sorted(p.name for p in (tmp_path / "h").iterdir()) == [
        "config.json", "metrics.json", "vocab.json", "weights.f16.npz"]
    loaded, _, _ = load_model_dir(tmp_path / "h")
    round_to_half(model)
    for want, got in zip(model.get_weights(), loaded.get_weights()):
        assert got.dtype == np.float32
        np.testing.assert_array_equal(want, got)
    assert any((w != w.astype(np.float16)).any() for w in build_model(cfg).get_weights())  # rounding is real
    x = np.array([tok.encode("床前明月光，")], np.int32)
    np.testing.assert_array_equal(np.asarray(model(x)), np.asarray(loaded(x)))
    full = (tmp_path / "m" / "model.keras").stat().st_size
    assert (tmp_path / "h" / "weights.f16.npz").stat().st_size < full


def test_damaged_or_mismatched_half_weights_are_named(tmp_path):
    model, cfg, tok = small(tmp_path)
    save_model_dir(tmp_path / "h", model, cfg, tok, half=True)
    weights = tmp_path / "h" / "weights.f16.npz"
    good = weights.read_bytes()
    weights.write_bytes(good[: len(good) // 2])
    with pytest.raises(ModelError, match="weights.f16.npz cannot be loaded"):
        load_model_dir(tmp_path / "h")
    other = ModelConfig(vocab_size=cfg.vocab_size, embed_dim=8, hidden=16, layers=1, proj_dim=8)
    save_model_dir(tmp_path / "o", build_model(other), other, tok, half=True)
    shutil.copy(tmp_path / "o" / "weights.f16.npz", weights)  # weights of another size
    with pytest.raises(ModelError, match="does not fit config.json"):
        load_model_dir(tmp_path / "h")
    weights.unlink()
    with pytest.raises(ModelError, match="model.keras not found"):
        load_model_dir(tmp_path / "h")
