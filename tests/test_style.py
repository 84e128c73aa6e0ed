"""Conditioning on the collection: a model trained on 唐诗, 宋诗 and 宋词 opens each poem with
<collection><form>, and writes in the manner asked for; a Tang-only model of format 1 still loads."""

import json

import numpy as np
import pytest

from poetgen.errors import GenerationError
from poetgen.writing.params import WriteParams


def test_style_sets_the_opening_and_travels_in_the_id(tiny_poet):
    tok = tiny_poet.tokenizer
    tang = tiny_poet.write(form="七律", n=4, seed=5, style="唐")
    song = tiny_poet.write(form="七律", n=4, seed=5, style="宋")
    for poem in tang + song:
        assert poem.form == "七律" and [len(line) for line in poem.lines] == [7] * 8
    assert [p.text for p in tang] != [p.text for p in song]  # the opening token changes the model's input
    assert tiny_poet.regenerate(song[2].id).text == song[2].text
    # the forced opening of each is the collection, then the form
    from poetgen.writing.planning import plan_request

    for style, name in (("唐", "<唐诗>"), ("宋", "<宋诗>")):
        req = tiny_poet.requests.prepare(WriteParams(**{**_params(), "style": style}), 0).request
        plan = plan_request(tiny_poet.vocab, req, 1, 0)
        assert list(plan.forced[0, :2]) == [tok.index[name], tok.form_token("七律")]


def _params():
    return dict(start="", form="七律", temperature=0.8, top_k=0, top_p=1.0, script="traditional",
                max_tokens=120, acrostic="", tail="", theme="", rhyme=None, tones=None, pattern=None,
                no_copy=True, max_repeat=2, style="唐")


def test_free_form_in_song_style_lets_the_model_choose_the_form(tiny_poet):
    tok = tiny_poet.tokenizer
    poems = tiny_poet.write(start="明月", form="free", n=3, seed=2, style="宋", max_tokens=40)
    assert all(p.lines[0].startswith("明月") for p in poems)
    params = {**_params(), "form": "free", "start": "明月", "style": "宋", "max_tokens": 40}
    _, tokens = tiny_poet.writer.drafts(WriteParams(**params), 1, 2)[:2]
    assert tokens[0, 0] == tok.index["<宋诗>"]
    assert tok.tokens[tokens[0, 1]] in ("<五绝>", "<七绝>", "<五律>", "<七律>", "<其他>")


@pytest.mark.parametrize("style", ["元", "", None, 3])
def test_unknown_style_is_refused_by_name(tiny_poet, style):
    with pytest.raises(GenerationError, match="style must be"):
        tiny_poet.write(form="五绝", style=style)


def test_an_old_tang_only_model_directory_loads_and_writes(tiny_corpus, tmp_path):
    """A model directory of format 1 (its vocabulary knows forms only) still writes poems, and
    says clearly that it cannot write in the Song manner."""
    from poetgen.api import Poet
    from poetgen.corpus.splits import load_split
    from poetgen.model.network import ModelConfig, build_model, save_model_dir
    from poetgen.model.tokenizer import Tokenizer

    rows = load_split(tiny_corpus, "train")
    tok = Tokenizer.build((r["text"] for r in rows), min_count=2)  # format 1: no tunes, no collections
    assert not tok.conditioned
    config = ModelConfig(vocab_size=len(tok), embed_dim=8, hidden=16, proj_dim=8)
    save_model_dir(tmp_path / "old", build_model(config), config, tok)
    assert json.loads((tmp_path / "old" / "vocab.json").read_text(encoding="utf-8"))["format"] == "poetgen-vocab-1"
    poet = Poet.load(tmp_path / "old", corpus_dir=tiny_corpus)
    poem = poet.write(form="五绝", seed=3)[0]
    assert [len(line) for line in poem.lines] == [5] * 4
    assert poet.regenerate(poem.id).text == poem.text
    free = poet.write(start="山", form="free", seed=1, max_tokens=30)[0]
    assert free.lines[0].startswith("山")
    with pytest.raises(GenerationError, match="Tang verse only"):
        poet.write(form="五绝", style="宋")


def test_style_from_the_command_line(tiny_model_dir):
    from conftest import cli

    out = cli("generate", "--model", str(tiny_model_dir), "--form", "五绝", "--style", "宋", "-n", "2",
              "--seed", "4", "--json")
    assert out.returncode == 0, out.stderr
    poems = json.loads(out.stdout)
    assert len(poems) == 2 and all(p["form"] == "五绝" for p in poems)
    bad = cli("generate", "--model", str(tiny_model_dir), "--style", "明")
    assert bad.returncode == 1 and "style must be one of" in bad.stderr
    assert np.all([len(line) == 5 for p in poems for line in p["lines"]])
