"""Alternatives at one position of a finished poem, and rewriting the rest from there."""

import pytest

from poetgen.errors import GenerationError
from poetgen.verse.patterns import patterns
from poetgen.verse.pingshui import PING, ZE
from poetgen.writing.ids import decode_id


@pytest.fixture(scope="module")
def poem(tiny_poet):
    return tiny_poet.write(form="七绝", acrostic="春夏秋冬", n=1, seed=5, script="traditional")[0]


def test_alternatives_keep_the_tone_and_are_ranked(tiny_poet, poem):
    pattern = next(p for p in patterns("七绝") if p.name == poem.report["pattern"])
    line, position = 1, 1  # the second character: always strict (二四六分明)
    alts = tiny_poet.alternatives(poem.id, line, position, k=6)
    assert 1 <= len(alts) <= 6
    probs = [p for _, p in alts]
    assert probs == sorted(probs, reverse=True) and all(0 < p < 1 for p in probs)
    want = pattern.lines[line][position]
    for ch, _ in alts:
        assert want in tiny_poet.table.tones(ch), (ch, want)
    assert want in (PING, ZE)


def test_rewrite_keeps_the_prefix_and_the_rules_and_has_its_own_id(tiny_poet, poem):
    line, position = 2, 3
    alts = tiny_poet.alternatives(poem.id, line, position)
    char = alts[-1][0]
    new = tiny_poet.rewrite(poem.id, line, position, char)
    prefix = "".join(poem.lines[:line]) + poem.lines[line][:position]
    assert "".join(new.lines).startswith(prefix + char)
    assert [x[0] for x in new.lines] == list("春夏秋冬")
    assert new.report["ok"] and new.report["pattern"] == poem.report["pattern"], new.report["verdict"]
    assert new.id != poem.id and tiny_poet.regenerate(new.id).text == new.text


def test_a_rhyme_position_offers_only_rhymes(tiny_poet, poem):
    alts = tiny_poet.alternatives(poem.id, 3, 6, k=10)
    others = [c for i, c in zip(poem.report["rhyme_lines"], poem.report["rhyme_chars"]) if i != 3]
    shared = set.intersection(*(tiny_poet.table.ping_groups(c) for c in others))
    assert alts and all(tiny_poet.table.ping_groups(ch) & shared for ch, _ in alts)


@pytest.mark.parametrize("where,message", [
    ((0, 0), "fixed by the acrostic"),
    ((4, 0), "line must be from 1 to 4"),
    ((1, 7), "position must be from 1 to 7"),
    ((-1, 2), "line must be"),
])
def test_bad_positions_are_named(tiny_poet, poem, where, message):
    with pytest.raises(GenerationError, match=message):
        tiny_poet.alternatives(poem.id, *where)


def test_a_replacement_that_breaks_the_tone_is_refused(tiny_poet, poem):
    pattern = next(p for p in patterns("七绝") if p.name == poem.report["pattern"])
    wrong = ZE if pattern.lines[1][1] == PING else PING
    vocab = tiny_poet.vocab
    mask = vocab.ze & ~vocab.ping if wrong == ZE else vocab.ping & ~vocab.ze
    char = tiny_poet.tokenizer.tokens[int(mask.nonzero()[0][0])]
    with pytest.raises(GenerationError, match="breaks the poem's 格律"):
        tiny_poet.rewrite(poem.id, 1, 1, char)
    for bad in ("", "春風", "  ", None):  # two characters used to fail in tuple unpacking, unnamed
        with pytest.raises(GenerationError, match="exactly one"):
            tiny_poet.rewrite(poem.id, 1, 1, bad)


def test_rewrite_continues_from_the_state_at_that_character(tiny_poet, poem, monkeypatch):
    calls = []
    real = tiny_poet.decoder.advance_many
    monkeypatch.setattr(tiny_poet.decoder, "advance_many",
                        lambda reqs, stop: calls.append((reqs[0][2] and reqs[0][2]["t"], stop, reqs[0][0].batch))
                        or real(reqs, stop))
    line, position = 1, 4
    char = tiny_poet.alternatives(poem.id, line, position)[-1][0]
    calls.clear()
    new = tiny_poet.rewrite(poem.id, line, position, char)
    opening = len(tiny_poet.tokenizer.opening("七绝"))  # <唐诗><七绝>
    col = opening + 8 + position  # the opening, then line 1 (7 characters and its mark), then the position
    end = opening + 32 + 1  # 4 lines of 7 characters and a mark, then <eos>
    # the original decoded up to the column, then on (its batch: every candidate up to the one the
    # search kept, which its id names); the rewrite only from the column on, one poem
    rows = decode_id(poem.id, tiny_poet.model_hash)[2] + 1
    assert calls == [(0, col, rows), (col, end, rows), (col, end, 1)]
    assert tiny_poet.regenerate(new.id).text == new.text  # the same poem as one full pass
    assert "".join(new.lines).startswith("".join(poem.lines[:line]) + poem.lines[line][:position] + char)


@pytest.mark.parametrize("form", ["五绝", "七绝", "七律", "free"])
def test_a_rewrite_from_the_saved_state_is_the_poem_its_id_gives(tiny_poet, form, monkeypatch):
    """Whatever pattern and rhyme groups the original poem left open, continuing from its state
    gives exactly what one full pass of the new id writes; a free poem continues from the last
    chunk's state before the column."""
    starts, rewrite_starts = [], []
    real = tiny_poet.decoder.advance_many
    monkeypatch.setattr(tiny_poet.decoder, "advance_many",
                        lambda reqs, stop: starts.append(reqs[0][2] and reqs[0][2]["t"]) or real(reqs, stop))
    for seed in range(4):
        # One sample (what a searched poem's id names too): the poems do not follow the search's choices.
        poem = tiny_poet.write(form=form, n=1, seed=seed, max_tokens=40, script="traditional", search="off")[0]
        deep = ((len(poem.lines) // 2, 0),) if form == "free" else ()  # past the first chunks of a free poem
        for line, position in ((1, 2), (2, 1), *deep):
            if line >= len(poem.lines):
                continue
            position = min(position, len(poem.lines[line]) - 1)  # the tiny model's free lines are short
            char = tiny_poet.alternatives(poem.id, line, position)[-1][0]
            starts.clear()
            new = tiny_poet.rewrite(poem.id, line, position, char)
            kept = "".join(poem.lines)[: sum(map(len, poem.lines[:line])) + position]
            if tiny_poet.script.to_model(kept) == kept:  # else (凭 read as 憑) a full pass, by design
                assert starts[-1] is not None, "the rewrite did not continue from a saved state"
                rewrite_starts.append(starts[-1])
            assert tiny_poet.regenerate(new.id).text == new.text
            assert "".join(new.lines).startswith(tiny_poet.script.to_model(kept) + char)
    assert max(rewrite_starts) > 0  # some rewrites skipped the kept characters' decoding
