"""The table of the groups a 多音字 rhymes in as the poets rhymed it: read off regulated poems,
looked up by the character before it (test_shipped: the shipped model rhymes by it)."""

import json
from collections import Counter

import pytest

from poetgen.corpus import rhyme_readings
from poetgen.verse.pingshui import rhyme_table
from poetgen.verse.readings import DATA_FILE, Readings, readings

# 城/明/行 share 庚 alone (行 is 陽 too); 陽/塘/行 share 陽 alone (行 is 庚 too).
GENG = {"form": "五绝", "text": "明月照江城，孤舟夜未明。相思千里外，獨送故君行。"}
YANG = {"form": "五绝", "text": "秋風吹夕陽，遠水映寒塘。獨立沙洲上，天邊見雁行。"}


def test_a_character_keeps_the_groups_of_a_tenth_of_its_uses_and_a_pair_says_its_own():
    table = rhyme_table()
    data = rhyme_readings.derive([GENG] * 10 + [YANG] * 3, table)
    assert data["poems"] == 13
    # 行: 10 庚, 3 陽: both kept, as the table has them, so no row; each pair its own group
    assert "行" not in data["chars"]
    assert data["pairs"] == {"君行": ["下平聲八庚"], "雁行": ["下平聲七陽"]}
    # under the thresholds, nothing: 2 uses of a pair tell nothing, 3 陽 of 33 are under a tenth
    data = rhyme_readings.derive([GENG] * 30 + [YANG] * 2, table)
    assert data["chars"] == {"行": ["下平聲八庚"]} and data["pairs"] == {}
    assert rhyme_readings.derive([GENG, {"form": "词", "text": GENG["text"]}], table)["poems"] == 1
    # exactly a tenth is kept (3 of 30: no float rounding drops it)
    assert rhyme_readings.kept(Counter({("行", "庚"): 27, ("行", "陽"): 3}), 10) == {"行": ["庚", "陽"]}


def test_a_pair_overrides_its_character_and_an_unknown_character_keeps_the_table():
    table = rhyme_table()
    known = Readings.from_dict(rhyme_readings.derive([GENG] * 30 + [YANG] * 3, table))
    geng, yang = table.group_index("庚"), table.group_index("陽")
    assert known.groups("君", "行", table) == {geng}
    assert known.groups("雁", "行", table) == {yang}
    assert known.groups("遠", "行", table) == {geng}  # no pair: the character's own (30 庚, 3 陽: 庚)
    assert known.groups("山", "東", table) == frozenset(table.ping_groups("東"))
    with pytest.raises(ValueError, match="rhyme readings"):
        Readings.from_dict({"format": "other"})


def test_the_shipped_table_is_the_corpus_one_and_reads():
    data = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    assert data["poems"] > 100_000 and data["min_share"] == rhyme_readings.MIN_SHARE
    table = rhyme_table()
    assert readings().groups("君", "行", table) == {table.group_index("庚")}
    assert readings().groups("雁", "行", table) == {table.group_index("陽")}



def test_the_check_notes_a_rhyme_the_ear_hears_apart_without_faulting_it():
    from poetgen.verse.check import check_text

    heard = check_text("江上秋风落夕阳，长亭挥手送君行。一杯浊酒无人识，明月孤舟过楚乡。")
    assert heard.ok and heard.heard_apart == [1]  # 行 is in 陽 by the table: 合律 all the same
    assert "合律（注：第2句「君行」，诗人多押庚韵" in heard.verdict
    plain = check_text("江上秋风落夕阳，长亭挥手雁成行。一杯浊酒无人识，明月孤舟过楚乡。")
    assert plain.heard_apart == [] and "注" not in plain.verdict
    unrhymed = check_text("江上秋风落夕阳，长亭挥手送君行。一杯浊酒无人识，明月孤舟过楚天。")
    assert not unrhymed.rhymes and unrhymed.heard_apart == []  # no group shared: 出韵 says it all


def test_the_check_tab_marks_such_a_rhyme_on_the_poem():
    from poetgen.app.render import render_report
    from poetgen.verse.check import check_text

    text = "江上秋风落夕阳，长亭挥手送君行。一杯浊酒无人识，明月孤舟过楚乡。"
    html = render_report(check_text(text), text)
    assert html.count('class="rhyme heard"') == 1 and 'class="rhyme heard" title="多音字' in html
    assert '<span class="rhyme heard" title="多音字：诗人押此字多在他韵，读来或似出韵">行</span>' in html
