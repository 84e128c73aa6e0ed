"""The line search (writing/line_search.py) on the tiny model: a plan's rows can be taken and
repeated, the search stops at each line's end, keeps every rule, is the same for a seed, and its
ids rebuild its poems; the survivors of a line are each poem's best partial poems."""

import numpy as np

from poetgen.verse.check import check_text
from poetgen.writing.line_search import line_stops
from poetgen.writing.params import LINE_BEAM, LINE_WIDTH, WriteParams


def test_a_plan_taken_by_rows_decodes_as_those_rows(tiny_poet):
    writer = tiny_poet.writer
    prepared, plan = writer.plan(WriteParams(form="五律", theme="秋", search="off"), 3, 7)
    taken = plan.take(np.array([2, 0]))
    assert np.array_equal(taken.forced, plan.forced[[2, 0]])
    for whole, part in zip(plan.rules, taken.rules):
        for name in type(whole).per_poem:
            assert np.array_equal(getattr(part, name), getattr(whole, name)[[2, 0]])
    # Rows 2 and 0 of the plan written on their own: each is its plan row's poem, drawn with
    # the random numbers of its new place; the same rows twice give the same poems.
    first, _, _ = writer.merging.decode(taken, prepared.sampling)
    again, _, _ = writer.merging.decode(plan.take(np.array([2, 0])), prepared.sampling)
    assert np.array_equal(first, again)


def test_the_stops_are_the_ends_of_the_lines(tiny_poet):
    _, plan = tiny_poet.writer.plan(WriteParams(form="七绝", search="off"), 1, 1)
    stops = line_stops(plan)
    assert len(stops) == 4 and stops[-1] == plan.forced.shape[1]
    tok = tiny_poet.tokenizer
    assert all(plan.forced[0, stop - 1] in (tok.comma, tok.period) for stop in stops[:-1])
    _, free = tiny_poet.writer.plan(WriteParams(form="free", search="off", max_tokens=30), 1, 1)
    assert line_stops(free) == [free.forced.shape[1]]  # free verse: the whole poem at once


def test_survivors_are_each_poems_best_distinct_partial_poems(tiny_poet):
    lines = tiny_poet.writer.lines
    tok = tiny_poet.tokenizer
    rows = [[tok.bos, tok.first_char + k, tok.comma] for k in range(LINE_WIDTH)]
    rows[3] = rows[5]  # a duplicate is kept once
    tokens = np.array(rows * 2, np.int32)
    logprobs = np.zeros(tokens.shape, np.float32)
    logprobs[:, 1] = -(np.arange(2 * LINE_WIDTH) % LINE_WIDTH)  # row 0 of each poem likeliest
    logprobs[5, 1] = logprobs[3, 1] = -0.5
    keep = lines.survivors(tokens, logprobs)
    assert len(keep) == 2 * LINE_WIDTH
    assert sorted(set(keep[:LINE_WIDTH])) == [0, 3] and LINE_BEAM == 2  # 3 and 5 are one
    assert set(keep[LINE_WIDTH:]) == {LINE_WIDTH, LINE_WIDTH + 1}  # a poem's rows stay its own


def test_line_search_keeps_every_rule_and_its_ids_rebuild(tiny_poet):
    kinds = ({"form": "七律"}, {"form": "五绝", "acrostic": "春江花月", "tones": "rhyme"},
             {"cipai": "浣溪沙"}, {"form": "五律", "theme": "秋"})
    for params in kinds:
        poems = tiny_poet.write(n=2, seed=13, search="lines", **params)
        assert [p.text for p in tiny_poet.write(n=2, seed=13, search="lines", **params)] == [p.text for p in poems]
        for poem in poems:
            assert poem.report["rhyme_group"] if "tones" in params else poem.report["ok"], (params, poem.text)
            if "cipai" not in params and "tones" not in params:
                assert check_text(poem.text, tiny_poet.table).ok
            assert tiny_poet.regenerate(poem.id).text == poem.text
        streamed = list(tiny_poet.write_stream(n=2, seed=13, search="lines", **params))
        assert [p.text for p in streamed[-1][1]] == [p.text for p in poems]
        assert len(streamed) > 2  # a draft at each line's end
    acrostic = tiny_poet.write(n=1, seed=13, search="lines", form="五绝", acrostic="春江花月", tones="rhyme")[0]
    assert "".join(line[0] for line in acrostic.lines) == "春江花月"


def test_a_line_search_differs_from_the_best_of_whole_poems(tiny_poet):
    lines = tiny_poet.write(n=3, seed=21, form="七绝", search="lines")
    best = tiny_poet.write(n=3, seed=21, form="七绝", search="best")
    assert [p.text for p in lines] != [p.text for p in best]
