"""The page's 写法 and 润色: the handlers take the search and polishing by name, refuse other
values in Chinese, show what polishing changed (marked in the card, the draft on opening) and
rebuild a polished or line-searched poem from its id; a line-searched id asks no more poems than
the page writes."""

import re

import gradio as gr
import pytest

from poetgen.app.handlers import MAX_WEB_POEMS, Handlers
from poetgen.app.render import render_poem
from poetgen.writing.ids import make_id
from poetgen.writing.params import WriteParams

ARGS = ["七律", "", "", "", "自动", "strict", 0.5, 0, 0.9, 3, 6, "simplified", "唐", "（选词牌）"]


def test_polished_line_searched_poems_show_their_changes_and_rebuild(tiny_poet):
    # Written through the API first: the page's own deadline is not for compiling the loops.
    poems = tiny_poet.write(form="七律", n=3, seed=6, search="lines", polish=True, tones="strict")
    handlers = Handlers(tiny_poet)
    *_, (html, text, first_id) = list(handlers.write(*ARGS, "lines", True))
    assert text == "\n\n".join(p.text for p in poems)
    assert html.count("润色") == 3 and any(p.polished for p in poems)
    for poem in poems:
        shown = render_poem(poem)
        places = {(c["line"], c["position"]) for c in poem.polished}
        assert len(re.findall(r'class="[a-z ]*changed"', shown)) == len(places)
        if poem.polished:
            assert "初稿：" in shown and f"润色 {len(poem.polished)} 处" in shown
            assert all(line in shown for line in poem.draft.split("\n") if line)
    assert first_id == poems[0].id
    assert handlers.regenerate(first_id) == render_poem(poems[0]).join(['<div class="poem-grid">', "</div>"])


@pytest.mark.parametrize("index,value,word", [(14, "beam", "写法"), (15, "yes", "润色"), (15, None, "润色")])
def test_bad_search_or_polish_is_refused_in_chinese(tiny_poet, index, value, word):
    args = [*ARGS, "best", False]
    args[index] = value
    with pytest.raises(gr.Error, match=word):
        list(Handlers(tiny_poet).write(*args))


def test_a_line_searched_id_may_name_only_the_poems_a_page_writes(tiny_poet):
    handlers = Handlers(tiny_poet)
    lines = WriteParams(form="七绝", search="lines")
    assert handlers.poem_id(make_id(tiny_poet.model_hash, lines, 1, MAX_WEB_POEMS - 1))
    with pytest.raises(gr.Error, match="超出网页"):
        handlers.poem_id(make_id(tiny_poet.model_hash, lines, 1, MAX_WEB_POEMS))
    # a best-of-8 poem's id names a candidate: eight places a poem
    assert handlers.poem_id(make_id(tiny_poet.model_hash, WriteParams(form="七绝"), 1, MAX_WEB_POEMS))
