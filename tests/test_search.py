"""Search (writing/search.py) on the tiny model: the poem kept is the best-scored of its
candidates, keeps every rule, is the same for the same seed, and its id rebuilds it alone."""

import numpy as np

from poetgen.verse.check import check_text
from poetgen.writing.params import SEARCH_WIDTH, WriteParams
from poetgen.writing.penalties import faults, season_clash, seasons_of
from poetgen.writing.scoring import weakest
from poetgen.writing.search import ECHO_PENALTY, SHORTLIST, _phrases, _shortlist


def test_the_poem_kept_is_the_best_scored_candidate(tiny_poet):
    poems = tiny_poet.write(form="七绝", n=2, seed=3)
    candidates, tokens = tiny_poet.writer.drafts(WriteParams(form="七绝", search="off"), 2 * SEARCH_WIDTH, 3)[:2]
    scores = tiny_poet.writer.search.scores(tokens, SEARCH_WIDTH)
    full = tiny_poet.writer.search.scores(tokens)
    shortlisted = np.isfinite(scores)
    assert shortlisted.sum() == 2 * min(SHORTLIST, SEARCH_WIDTH) and np.allclose(scores[shortlisted], full[shortlisted])
    seen: set[str] = set()
    for i, poem in enumerate(poems):
        group = range(i * SEARCH_WIDTH, (i + 1) * SEARCH_WIDTH)
        phrases = {k: _phrases(tiny_poet.tokenizer.decode(tokens[k])) for k in group}
        kept = max(group, key=lambda k: scores[k] - ECHO_PENALTY * len(phrases[k] & seen))  # noqa: B023
        assert poem.text == candidates[kept].text and poem.id == candidates[kept].id
        seen |= phrases[kept]
    assert len({c.text for c in candidates}) > 2  # the candidates differ: there was a choice


def test_search_keeps_every_rule_and_is_the_same_for_a_seed(tiny_poet):
    first = tiny_poet.write(form="五律", n=3, seed=11, theme="秋")
    again = tiny_poet.write(form="五律", n=3, seed=11, theme="秋")
    assert [p.text for p in first] == [p.text for p in again]
    for poem in first:
        assert poem.report["ok"] and check_text(poem.text, tiny_poet.table).ok
        assert tiny_poet.regenerate(poem.id).text == poem.text  # the id names the one sample kept
    streamed = list(tiny_poet.write_stream(form="五律", n=3, seed=11, theme="秋", chunk=8))[-1][1]
    assert [p.text for p in streamed] == [p.text for p in first]


def test_the_poems_of_one_request_do_not_echo_each_other():
    assert _phrases("不知何处是，家林。") == {"不知何", "知何处", "何处是"}


def test_search_off_is_one_sample(tiny_poet):
    one = tiny_poet.write(form="七绝", n=2, seed=4, search="off")
    plain, _ = tiny_poet.writer.drafts(WriteParams(form="七绝", search="off"), 2, 4)[:2]
    assert [p.text for p in one] == [p.text for p in plain]


def test_the_penalties_count_what_readers_fault():
    assert faults("春風春雨，秋霜秋月。") == (2, True)  # 春 and 秋 twice; spring beside autumn
    assert faults("桃花流水，燕歸來時。")[1] is False
    assert season_clash(seasons_of("春夏秋")) and not season_clash(seasons_of("青春千秋"))


def test_a_poems_weakest_places_and_its_shortlist():
    assert weakest(np.array([[-1.0, -5.0, np.nan, -2.0], [-2.0, -3.0, -4.0, np.nan]]), count=2).tolist() == [-3.5, -3.5]
    assert weakest(np.array([[-1.0, np.nan, np.nan]]), count=2).tolist() == [-1.0]  # shorter: what it has
    width = SHORTLIST + 1
    runs = np.concatenate([np.arange(width, dtype=float), -np.arange(width, dtype=float)])
    chosen = _shortlist(runs, width)  # each run of `width` rows: all but its lowest
    assert chosen.sum() == 2 * SHORTLIST and not chosen[0] and not chosen[2 * width - 1]
