"""Constrained writing end to end on a tiny real model: every constraint must hold every time.
Where many poems are checked, each is one sample (search="off"): the rules are the decoder's, and
the search only chooses among candidates all written under them (tests/test_search.py)."""

import json
from collections import Counter

import pytest

from poetgen.api import Poet
from poetgen.errors import GenerationError
from poetgen.text.forms import SHAPE_OF_FORM
from poetgen.verse.check import check


def rhyme_chars(poem, form, lines_rhymed):
    return [poem.lines[i][-1] for i in lines_rhymed]


@pytest.mark.parametrize("form", ["五绝", "七律"])
def test_strict_tones_and_rhyme_hold_every_time(tiny_poet, form):
    poems = tiny_poet.write(form=form, tones="strict", n=12, seed=5, script="traditional", temperature=1.3,
                            search="off")
    for poem in poems:
        report = check("".join(poem.text.split("\n")))
        assert report.form == form
        assert report.violations == [] and report.rhymes, report.verdict
        assert not report.gu_ping and not report.san_ping_wei
        assert poem.report["ok"] is True


def test_rhyme_only_with_a_chosen_group(tiny_poet):
    for poem in tiny_poet.write(form="七绝", tones="rhyme", rhyme="东", n=10, seed=2, temperature=1.3,
                                script="traditional", search="off"):
        ends = [poem.lines[i][-1] for i in (0, 1, 3)]
        groups = [tiny_poet.table.ping_groups(ch) for ch in ends]
        assert all(tiny_poet.table.group_index("東") in g for g in groups), ends
        assert len(set(ends)) == 3  # never the same rhyme character twice


def test_acrostic_heads_and_tails(tiny_poet):
    for poem in tiny_poet.write(acrostic="春夏秋冬", n=4, seed=1, script="traditional"):
        assert poem.form == "七绝"
        assert [line[0] for line in poem.lines] == list("春夏秋冬")
    for poem in tiny_poet.write(form="五绝", tail="江風天樓", tones="off", n=4, seed=3, script="traditional"):
        assert [line[-1] for line in poem.lines] == list("江風天樓")
    eight = tiny_poet.write(acrostic="一二三四五六七八", form="五律", tones="rhyme", n=1, seed=1,
                            script="traditional")[0]
    assert [line[0] for line in eight.lines] == list("一二三四五六七八")


def test_no_repeat_limit(tiny_poet):
    for poem in tiny_poet.write(form="七律", max_repeat=1, tones="off", n=8, seed=4, temperature=0.5, search="off"):
        counts = Counter("".join(poem.lines))
        assert max(counts.values()) == 1
    repeats = [max(Counter("".join(p.lines)).values())
               for p in tiny_poet.write(form="七律", max_repeat=0, tones="off", n=8, seed=4, temperature=0.5,
                                        search="off")]
    assert max(repeats) > 1  # without the rule this model does repeat itself


def test_no_copy_avoids_every_corpus_line(tiny_model_dir, tmp_path):
    free = Poet.load(tiny_model_dir, corpus_dir=tmp_path / "none")
    greedy = free.write(form="五绝", temperature=0, tones="off", max_repeat=0, n=1, seed=1, script="traditional")[0]
    # A corpus that holds exactly the lines this model writes greedily
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    text = "".join(greedy.text.split("\n"))
    (corpus / "train.jsonl").write_text(json.dumps({"text": text, "form": "五绝"}, ensure_ascii=False) + "\n",
                                        encoding="utf-8")
    guarded = Poet.load(tiny_model_dir, corpus_dir=corpus)
    poem = guarded.write(form="五绝", temperature=0, tones="off", max_repeat=0, n=1, seed=1, script="traditional")[0]
    assert not set(poem.lines) & set(greedy.lines)
    copied = guarded.write(form="五绝", temperature=0, tones="off", max_repeat=0, no_copy=False, seed=1,
                           script="traditional")[0]
    assert copied.lines == greedy.lines


def test_theme_keywords_shape_the_poem(tiny_poet):
    keywords = tiny_poet.requests.theme_keywords("思念故乡的明月")
    assert "故鄉" in keywords and "明月" in keywords
    chars = set("".join(keywords))
    themed = tiny_poet.write(form="七绝", theme="思念故乡的明月", n=20, seed=7)
    plain = tiny_poet.write(form="七绝", n=20, seed=7)
    hits = sum(bool(chars & set("".join(p.lines))) for p in themed)
    base = sum(bool(chars & set("".join(p.lines))) for p in plain)
    assert hits >= 18 and hits > base
    assert themed[0].keywords == keywords


def test_everything_at_once(tiny_poet):
    poems = tiny_poet.write(form="七绝", acrostic="春夏秋冬", theme="思念故乡", rhyme="東", tones="strict",
                            top_k=40, top_p=0.9, n=5, seed=1, script="simplified")
    for poem in poems:
        assert [line[0] for line in poem.lines] == list("春夏秋冬")
        assert [len(line) for line in poem.lines] == [7] * 4
        assert poem.report["ok"] and poem.report["rhyme_group"] == "上平聲一東"


def test_ids_rebuild_the_poem(tiny_poet, tiny_model_dir):
    poems = tiny_poet.write(form="五律", acrostic="", theme="秋", n=3, seed=9, top_p=0.8)
    again = tiny_poet.regenerate(poems[2].id)
    assert again.text == poems[2].text and again.id == poems[2].id
    with pytest.raises(GenerationError, match="not a poetgen poem id"):
        tiny_poet.regenerate("hello")
    with pytest.raises(GenerationError, match="damaged"):
        tiny_poet.regenerate("pg3_!!!")
    # An id of an earlier version whose sampling differed: refused, not silently another poem.
    for old in ("pg1_", "pg2_"):
        with pytest.raises(GenerationError, match="earlier poetgen"):
            tiny_poet.regenerate(old + poems[0].id[4:])
    other = Poet(tiny_poet.model, tiny_poet.tokenizer)  # an unsaved model has another hash
    with pytest.raises(GenerationError, match="made by another model"):
        other.regenerate(poems[0].id)


def test_rerank_keeps_the_most_likely(tiny_poet):
    ranked = tiny_poet.write(form="五绝", n=4, seed=3, rerank=True)
    pool = tiny_poet.write(form="五绝", n=12, seed=3)
    assert [p.score for p in ranked] == sorted((p.score for p in pool), reverse=True)[:4]


def ze_only(poet, count):
    v = poet.vocab
    return "".join(poet.tokenizer.tokens[i] for i in range(poet.tokenizer.first_char, len(poet.tokenizer))
                   if v.ze[i] and not v.ping[i])[:count]


def test_characters_no_pattern_admits(tiny_poet):
    with pytest.raises(GenerationError, match="no 格律 pattern admits"):
        tiny_poet.write(form="五绝", acrostic=ze_only(tiny_poet, 4), seed=1)
    ze = ze_only(tiny_poet, 1)
    with pytest.raises(GenerationError, match="cannot rhyme"):
        tiny_poet.write(form="五绝", tail="山" + ze + "水天", tones="rhyme", seed=1)


@pytest.mark.parametrize("kwargs,message", [
    ({"form": "七绝", "tail": "山東水天", "tones": "rhyme"}, "share no 平水韵 group"),
    ({"acrostic": "春夏秋"}, "fits no form"),
    ({"form": "五绝", "acrostic": "春夏"}, "one character per line"),
    ({"form": "五绝", "rhyme": "董"}, "unknown 平水韵 rhyme group"),
    ({"form": "free", "rhyme": "東"}, "need a regulated form|needs tones"),
    ({"form": "free", "tones": "strict"}, "need a regulated form"),
    ({"form": "五绝", "tones": "loud"}, "tones must be"),
    ({"form": "五绝", "pattern": "平起"}, "unknown pattern"),
    ({"form": "五绝", "start": "明月", "acrostic": "春夏秋冬"}, "clashes"),
    ({"theme": "x" * 500}, "too long"),
    ({"max_repeat": -1}, "max_repeat"),
])
def test_impossible_requests_name_the_constraint(tiny_poet, kwargs, message):
    with pytest.raises(GenerationError, match=message):
        tiny_poet.write(seed=1, **kwargs)


def test_small_rhyme_group_is_refused():
    from poetgen.model.tokenizer import Tokenizer
    from poetgen.verse.pingshui import rhyme_table
    from poetgen.writing.planning import Request, plan_request
    from poetgen.writing.vocabulary import Vocabulary

    table = rhyme_table()
    vocab = Vocabulary(Tokenizer.build(["東同山水天"], min_count=1), table)
    with pytest.raises(GenerationError, match="has only 2 characters"):
        plan_request(vocab, Request(form="七律", tones="rhyme", rhyme=table.group_index("東")), 1, seed=0)


def test_form_lengths_table():
    assert SHAPE_OF_FORM["七律"] == (7, 8)


def test_with_no_form_the_start_text_chooses_a_regulated_form(tiny_poet):
    from poetgen.text.forms import FORMS, SHAPE_OF_FORM

    forms = {tiny_poet.write(start="明月", n=1, seed=s)[0].form for s in range(12)}
    assert forms <= set(FORMS) and len(forms) > 1  # the seed chooses among the four
    for seed in range(4):
        five = tiny_poet.write(start="明月照高樓，", n=1, seed=seed)[0]  # a first line of 5: 五言
        assert SHAPE_OF_FORM[five.form][0] == 5 and five.lines[0] == "明月照高楼"
        long = tiny_poet.write(start="明月" * 15, tones="off", n=1, seed=seed)[0]  # 30 characters: no 绝句
        assert long.form in ("五律", "七律")
    odd = tiny_poet.write(start="明月照高樓上，", n=1, seed=1)[0]  # a first line of 6 fits no regulated form
    assert odd.form == "其他"
    from poetgen.writing.params import WriteParams

    assert tiny_poet.requests.prepare(WriteParams(start="明月", form="free"), 1).request.form == "free"
