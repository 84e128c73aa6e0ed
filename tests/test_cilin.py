"""词林正韵: 19 部 over the 平水韵 groups, 平 with 上去, 入声 apart, split groups by the character."""

import pytest

from poetgen.verse.ci_rhymes import BU, N_BU, NAMES, _group_bu, bu_index, bu_of
from poetgen.verse.pingshui import rhyme_table


@pytest.fixture(scope="module")
def table():
    return rhyme_table()


def names(indices) -> set[str]:
    return {NAMES[i] for i in indices}


def test_every_pingshui_group_is_in_a_bu_and_ru_sheng_stands_apart(table):
    by_group = _group_bu(table.groups)
    assert len(BU) == N_BU == 19
    assert set(by_group) == set(range(len(table.groups)))  # all 106 groups
    for g, bus in by_group.items():
        is_ru = table.groups[g].startswith("入")
        assert all((b >= 14) == is_ru for b in bus), table.groups[g]  # 第十五部 on: 入声 only


def test_ping_rhymes_with_shang_qu_in_one_bu(table):
    # 東 (平), 動 (上聲一董), 凍 (去聲一送): one 部
    assert names(bu_of(table, "東")[0]) == {"第一部"}
    assert "第一部" in names(bu_of(table, "動")[1]) and "第一部" in names(bu_of(table, "凍")[1])
    # 月 is 入声 only: 第十八部, and no 平 reading
    ping, ze = bu_of(table, "月")
    assert not ping and names(ze) == {"第十八部"}


@pytest.mark.parametrize("ch, bu", [("灰", "第三部"), ("梅", "第三部"), ("來", "第五部"), ("開", "第五部"),
                                    ("門", "第六部"), ("村", "第六部"), ("元", "第七部"), ("言", "第七部"),
                                    ("街", "第五部"), ("涯", "第十部")])
def test_split_groups_go_by_the_character(table, ch, bu):
    assert bu in names(bu_of(table, ch)[0])


def test_a_split_group_is_also_a_class_of_its_own(table):
    # Song poets rhymed 十灰 whole (杯 第三部 with 來 第五部): the shared class says so
    assert names(bu_of(table, "杯")[0]) & names(bu_of(table, "來")[0]) == {"灰韵（三五部通押）"}
    assert not names(bu_of(table, "時")[0]) & names(bu_of(table, "來")[0])  # 支 and 咍 never


def test_bu_by_name_in_every_spelling():
    assert bu_index("第七部") == bu_index("七") == bu_index("7") == bu_index("七部") == 6
    assert bu_index("第十九部") == 18
    with pytest.raises(ValueError, match="第一部 to 第十九部"):
        bu_index("第二十部")
