"""Ci by 词牌 written by a tiny model: the tune's shape, rhyme chains and tones always hold,
with start text, acrostic, theme, ids, alternatives and rewrites; bad requests are named. Where
many are checked, each is one sample (search="off"): the rules are the decoder's, and the search
only chooses among candidates all written under them."""

import numpy as np
import pytest

from poetgen.errors import GenerationError
from poetgen.verse.check import check_text
from poetgen.verse.ci_rhymes import NAMES, bu_of
from poetgen.verse.tunes import find

TUNES = ("浣溪沙", "菩萨蛮", "西江月", "如梦令")


def assert_holds(poem, tune: str, strict: bool = True) -> None:
    pattern = find(tune)
    assert poem.form == "词" and poem.cipai == pattern.name
    assert [len(line) for line in poem.lines] == list(pattern.lengths)
    report = poem.report
    assert report["rhymes"], report["verdict"]
    if strict:
        assert report["violations"] == [], report["verdict"]
    # the check of the text alone, as a reader would run it, agrees
    assert check_text(poem.text, cipai=tune).rhymes


@pytest.mark.parametrize("tune", TUNES)
def test_every_ci_has_its_tune_shape_rhyme_and_tones(tiny_poet, tune):
    poems = tiny_poet.write(cipai=tune, n=6, seed=3, search="off")
    for poem in poems:
        assert_holds(poem, tune)
    assert len({p.text for p in poems}) == 6


def test_a_ci_is_laid_out_in_its_stanzas_and_its_id_rebuilds_it(tiny_poet):
    [poem] = tiny_poet.write(cipai="浣溪沙", seed=11)
    shown = poem.text.split("\n")
    assert shown[3] == "" and len(shown) == 7  # 上阕 three lines, a blank line, 下阕 three
    assert poem.to_dict()["cipai"] == "浣溪沙" and poem.to_dict()["form"] == "词"
    again = tiny_poet.regenerate(poem.id)
    assert again.text == poem.text and again.cipai == "浣溪沙"
    assert len(poem.id) <= 48


def test_start_text_acrostic_theme_and_a_chosen_bu(tiny_poet):
    for poem in tiny_poet.write(cipai="浣溪沙", start="明月", n=3, seed=1, search="off"):
        assert poem.lines[0].startswith("明月")
        assert_holds(poem, "浣溪沙")
    for poem in tiny_poet.write(cipai="浣溪沙", acrostic="春夏秋冬山水", n=3, seed=2, search="off"):
        assert [line[0] for line in poem.lines] == list("春夏秋冬山水")
        assert_holds(poem, "浣溪沙")
    for poem in tiny_poet.write(cipai="菩萨蛮", theme="秋夜思乡", n=2, seed=3, search="off"):
        assert_holds(poem, "菩萨蛮")
    seventh = NAMES.index("第七部")
    for poem in tiny_poet.write(cipai="浣溪沙", rhyme="第七部", n=3, seed=4, script="traditional", search="off"):
        assert all(seventh in bu_of(tiny_poet.table, ch)[0] for ch in poem.report["rhyme_chars"])


def test_tones_rhyme_keeps_rhymes_only_and_off_keeps_the_shape(tiny_poet):
    for poem in tiny_poet.write(cipai="西江月", tones="rhyme", n=4, seed=5, search="off"):
        assert_holds(poem, "西江月", strict=False)
    for poem in tiny_poet.write(cipai="西江月", tones="off", n=2, seed=5, search="off"):
        assert [len(line) for line in poem.lines] == list(find("西江月").lengths)


def test_alternatives_and_rewrite_keep_the_tune(tiny_poet):
    [poem] = tiny_poet.write(cipai="菩萨蛮", seed=7)
    pattern = find("菩萨蛮")
    line, position = 3, pattern.lengths[3] - 1  # a 平 rhyme that must share its chain's 部 with line 3's
    choices = tiny_poet.alternatives(poem.id, line, position, k=5)
    assert choices
    partner = poem.lines[2][-1]
    for ch, _ in choices:
        shared = bu_of(tiny_poet.table, tiny_poet.script.to_model(ch))[0] & bu_of(
            tiny_poet.table, tiny_poet.script.to_model(partner))[0]
        assert shared, (ch, partner)
    rewritten = tiny_poet.rewrite(poem.id, line, position, choices[-1][0])
    assert rewritten.lines[line][position] == choices[-1][0]
    assert rewritten.lines[:line] == poem.lines[:line]
    assert_holds(rewritten, "菩萨蛮")
    assert tiny_poet.regenerate(rewritten.id).text == rewritten.text


@pytest.mark.parametrize("kwargs, message", [
    (dict(cipai="浣沙溪"), "nearest: 浣溪沙"),
    (dict(cipai="浣溪沙", form="七律"), "not both"),
    (dict(cipai="浣溪沙", pattern="仄起首句不入韵"), "one pattern"),
    (dict(cipai="浣溪沙", acrostic="春夏秋"), "one character per line: 6"),
    (dict(cipai="浣溪沙", rhyme="第二十部"), "第一部 to 第十九部"),
    (dict(form="词"), "needs its tune"),
    (dict(cipai="如梦令", start="明月" * 20), "has only 33"),
])
def test_bad_ci_requests_are_named(tiny_poet, kwargs, message):
    with pytest.raises(GenerationError, match=message):
        tiny_poet.write(seed=0, **kwargs)


def test_no_ci_line_of_four_or_more_is_copied(tiny_poet):
    from poetgen.corpus.splits import load_split

    corpus_lines = set()
    for split in ("train", "valid"):
        for row in load_split(tiny_poet.corpus_dir, split):
            corpus_lines.update(line for line in row["text"].replace("。", "，").split("，") if len(line) >= 4)
    poems = tiny_poet.write(cipai="浣溪沙", n=8, seed=9, script="traditional", temperature=0.3, search="off")
    lines = [line for p in poems for line in p.lines]
    assert lines and not [line for line in lines if line in corpus_lines]
    assert np.mean([len(line) for line in lines]) == 7
