"""Polishing (writing/polish.py) on the tiny model: it never breaks a rule, never lowers the
score, leaves what the request fixed alone, shows its draft and changes, and its ids rebuild."""

import numpy as np
import pytest

from poetgen.verse.check import check_text
from poetgen.writing.params import WriteParams
from poetgen.writing.polish import places_of

KINDS = ({"form": "七律"}, {"form": "五绝"}, {"cipai": "浣溪沙"}, {"form": "五律", "theme": "秋"},
         {"form": "七绝", "acrostic": "春江花月", "tones": "rhyme"}, {"form": "五绝", "start": "白日"})


def holds(poem, params: dict) -> bool:
    """What the request asked for: the whole 格律, or (tones 'rhyme') its rhyme alone."""
    return bool(poem.report["rhyme_group"]) if params.get("tones") == "rhyme" else poem.report["ok"]


@pytest.mark.parametrize("params", KINDS, ids=lambda p: "-".join(map(str, p.values())))
def test_polish_keeps_every_rule_raises_the_score_and_touches_only_free_places(tiny_poet, params):
    writer = tiny_poet.writer
    request = WriteParams(polish=True, **params)
    drafts, tokens, prepared = writer.drafts(request, 3, 17)
    changed = 0
    for draft, row in zip(drafts, tokens):
        poem, new_row = writer.polished(draft, row, request, prepared)
        assert poem.draft == draft.text and poem.id == draft.id
        assert holds(poem, params) and holds(draft, params)
        if "cipai" not in params and "tones" not in params:
            assert check_text(poem.text, tiny_poet.table).ok
        before, after = writer.search.scores(np.stack([row, new_row]))
        assert after >= before  # never lower
        differ = [k for k, (a, b) in enumerate(zip("".join(draft.lines), "".join(poem.lines))) if a != b]
        assert (after > before) == bool(poem.polished)  # a change only where the score rose
        assert not set(differ) & writer.fixed_places(draft, request, prepared)
        # The changes, made in order on the draft, give the poem; none brings in a character
        # the poem already had.
        chars, places = list("".join(draft.lines)), places_of(draft)
        for change in poem.polished:
            k = places.index((change["line"], change["position"]))
            assert chars[k] == change["from"] and change["to"] not in chars
            chars[k] = change["to"]
        assert "".join(chars) == "".join(poem.lines)
        changed += len(poem.polished)
    assert changed or params.get("start")  # the tiny model's poems are far from their best


def test_polished_ids_rebuild_and_old_ids_do_not_polish(tiny_poet):
    poems = tiny_poet.write(n=2, seed=5, form="七律", polish=True)
    plain = tiny_poet.write(n=2, seed=5, form="七律")
    for poem, draft in zip(poems, plain):
        assert poem.draft == draft.text and poem.id != draft.id
        assert tiny_poet.regenerate(poem.id).text == poem.text
        assert tiny_poet.regenerate(draft.id).text == draft.text  # an id without polish: the draft


def test_a_polished_poem_can_be_rewritten_from_a_character(tiny_poet):
    poem = next(p for p in tiny_poet.write(n=4, seed=6, form="七律", polish=True, search="lines") if p.polished)
    change = poem.polished[0]
    line, position = change["line"], change["position"]
    options = tiny_poet.alternatives(poem.id, line, position, k=3)
    assert options
    rewritten = tiny_poet.rewrite(poem.id, line, position, options[-1][0])
    keep = sum(len(x) for x in poem.lines[:line]) + position
    assert "".join(rewritten.lines)[:keep] == "".join(poem.lines)[:keep]
    assert tiny_poet.regenerate(rewritten.id).text == rewritten.text
