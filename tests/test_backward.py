"""The backward model: the same recipe reading each poem from its end, after the same opening
tokens; trained, exported and scored like the forward one."""

import numpy as np
import pytest
from conftest import TINY_MODEL

from poetgen.model.tokenizer import Tokenizer
from poetgen.training.data import encode_corpus


def test_encode_reads_right_to_left_after_the_same_opening():
    tok = Tokenizer.build(["山水月風，山水。"], min_count=1)
    opening = tok.opening("五绝")  # a form token: a special, never decoded
    forward = tok.encode("山水，月風。", opening=opening)
    backward = tok.encode("山水，月風。", opening=opening, reverse=True)
    assert backward[:2] == forward[:2] and backward[-1] == forward[-1] == tok.eos  # <bos>, opening, <eos>
    assert backward[2:-1] == forward[2:-1][::-1]
    assert tok.decode(backward) == "。風月，水山"


def test_training_windows_of_a_long_poem_hold_it_backward():
    tok = Tokenizer.build(["甲乙丙丁，戊己庚辛。壬癸子丑，寅卯辰巳。"], min_count=1)
    row = {"text": "甲乙丙丁，戊己庚辛。壬癸子丑，寅卯辰巳。", "form": "其他"}
    pieces = encode_corpus([row], tok, max_len=14, reverse=True)
    chars = "".join(tok.decode(p) for p in pieces)
    assert len(pieces) > 1 and chars == row["text"][::-1]
    assert pieces[-1][-1] == tok.eos and all(p[-1] != tok.eos for p in pieces[:-1])


@pytest.fixture(scope="module")
def backward_dir(tiny_corpus, tmp_path_factory):
    from poetgen.model.config import TrainConfig
    from poetgen.training.export import export
    from poetgen.training.loop import train

    run = tmp_path_factory.mktemp("runs") / "tiny-backward"
    train(tiny_corpus, run, {**TINY_MODEL, "direction": "backward"},
          TrainConfig(epochs=1, batch_size=16, steps_per_epoch=10, learning_rate=1e-2, min_count=2), verbose=0)
    out = tmp_path_factory.mktemp("models") / "tiny-backward"
    export(run, out, command="poetgen train --direction backward (test)", corpus_dir=tiny_corpus)
    return out


def test_a_backward_model_directory_says_so_and_its_card_reads_backward(backward_dir, tiny_corpus):
    import json

    from poetgen.corpus.splits import load_split
    from poetgen.model.evaluate import split_perplexity
    from poetgen.model.network import load_model_dir

    model, config, tok = load_model_dir(backward_dir)
    assert config.direction == "backward" and config.reverse
    metrics = json.loads((backward_dir / "metrics.json").read_text(encoding="utf-8"))
    rows = load_split(tiny_corpus, "valid")
    backward = split_perplexity(model, tok, rows, reverse=True)["all"]["char_perplexity"]
    forward = split_perplexity(model, tok, rows)["all"]["char_perplexity"]
    assert metrics["valid_by_subset"]["all"]["char_perplexity"] == pytest.approx(backward, rel=1e-3)
    assert backward != pytest.approx(forward, rel=1e-3)  # the card measured it the way it reads


def test_the_scorer_reads_a_backward_model_from_the_end(backward_dir, tiny_poet):
    """Each character's backward log-probability, in reading order, is the model's own
    prediction of it from the characters after it (computed here by hand from the model)."""
    import tensorflow as tf

    from poetgen.model.network import load_model_dir
    from poetgen.writing.scoring import Scorer

    model, _, tok = load_model_dir(backward_dir)
    text = "白日依山盡，黃河入海流。"
    assert all(ch in tok.index for ch in text if ch not in "，。")
    opening = tok.opening("五绝")
    (forward, backward) = Scorer(tok, tiny_poet.model, model).char_logprobs([text], opening)
    ids = [tok.bos, *opening, *(tok.index.get(ch, tok.unk) for ch in text[::-1])]
    logp = tf.nn.log_softmax(model(np.array([ids[:-1]]), training=False)[0]).numpy()
    by_hand = [logp[k - 1, ids[k]] for k in range(1 + len(opening), len(ids)) if ids[k] >= tok.first_char]
    assert np.allclose(backward[0], by_hand[::-1], atol=1e-4)
    assert forward.shape == backward.shape == (1, 10)


def test_a_lines_gain_is_what_the_rest_of_its_poem_adds_to_its_likelihood(tiny_poet, backward_dir):
    from poetgen.model.network import load_model_dir
    from poetgen.writing.scoring import Scorer

    model, _, tok = load_model_dir(backward_dir)
    scorer = Scorer(tok, tiny_poet.model, model)
    opening = tok.opening("五绝")
    first, second = "白日依山盡，", "黃河入海流。"
    assert np.allclose(scorer.line_gains([first, second], opening), 0, atol=1e-5)  # a line alone: nothing added
    (f_poem, b_poem), (f_alone, b_alone) = (scorer.char_logprobs(t, opening) for t in ([first + second],
                                                                                         [first, second]))
    # Forward, the first line reads as it does alone; backward, the second does.
    assert np.allclose(f_poem[0, :5], f_alone[0], atol=1e-5) and np.allclose(b_poem[0, 5:], b_alone[1], atol=1e-5)
    by_hand = (f_poem[0, 5:].sum() - f_alone[1].sum() + b_poem[0, :5].sum() - b_alone[0].sum()) / 10
    gains = scorer.line_gains([first + second, second + first], opening)
    assert gains[0] == pytest.approx(by_hand, abs=1e-4) and gains[0] != pytest.approx(gains[1], abs=1e-4)


def test_a_line_searched_or_polished_id_names_the_backward_model_too(tiny_model_dir, backward_dir, tmp_path):
    import shutil

    from poetgen.api import Poet
    from poetgen.errors import GenerationError
    from poetgen.model.network import load_model_dir, weights_path

    shutil.copytree(tiny_model_dir, tmp_path / "tiny")
    shutil.copytree(backward_dir, tmp_path / "tiny-backward")
    poet = Poet.load(tmp_path / "tiny")
    assert poet.backward is not None and poet.both_hash != poet.model_hash
    lined = poet.write(form="五绝", seed=3, search="lines")[0]
    polished = poet.write(form="五绝", seed=3, polish=True)[0]
    sample = poet.write(form="五绝", seed=3)[0]
    for poem in (lined, polished, sample):
        assert poet.regenerate(poem.id).text == poem.text

    # A new backward model (here: its weights nudged) would search and polish otherwise: their
    # ids are refused by name, while the kept sample's id, one pass of the forward model, rebuilds.
    model, _, _ = load_model_dir(tmp_path / "tiny-backward")
    model.set_weights([w + 0.01 for w in model.get_weights()])
    model.save(weights_path(tmp_path / "tiny-backward"))
    again = Poet.load(tmp_path / "tiny")
    assert again.model_hash == poet.model_hash and again.both_hash != poet.both_hash
    for poem in (lined, polished):
        with pytest.raises(GenerationError, match="another model"):
            again.regenerate(poem.id)
    assert again.regenerate(sample.id).text == sample.text
