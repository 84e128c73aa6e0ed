"""词林正韵: the rhyme groups (部) of ci, each a union of 平水韵 groups.

Source: 戈载《词林正韵》(1821), the standard rhyme book of ci, as tabulated in 龙榆生
《唐宋词格律》 and 王力《汉语诗律学》. Fourteen 部 rhyme 平 with 上去 (a tune that rhymes on 平
takes a 部's 平 characters; on 仄, its 上声 and 去声 ones); five 部 are 入声 alone.

Four 平水韵 groups (and their 上去 partners) are split between two 部 by the character (the
book's "半"): 十灰 between 第三部 (灰 回 杯 梅: -ui/-ei) and 第五部 (來 臺 開 哀: -ai); 九泰
likewise; 九佳 between 第五部 (街 鞋 排 懷: -ai/-ie) and 第十部 (佳 涯 娃 蛙: -a/-ia/-ua);
十三元 between 第六部 (門 魂 村 孫 恩: -en/-un) and 第七部 (元 言 園 軒 繁: -an/-uan). The
split is read off the character's modern final (pypinyin), which follows the book's lists for
all but a few rare characters.
"""

from __future__ import annotations

from functools import cache

from ..errors import GenerationError
from .pingshui import RhymeTable

# 部 -> (平 groups, 上 groups, 去 groups, 入 groups), by the groups' rhyme characters.
BU: dict[str, tuple[str, str, str, str]] = {
    "第一部": ("東冬", "董腫", "送宋", ""),
    "第二部": ("江陽", "講養", "絳漾", ""),
    "第三部": ("支微齊灰", "紙尾薺賄", "寘未霽泰隊", ""),
    "第四部": ("魚虞", "語麌", "御遇", ""),
    "第五部": ("佳灰", "蟹賄", "泰卦隊", ""),
    "第六部": ("真文元", "軫吻阮", "震問願", ""),
    "第七部": ("元寒刪先", "阮旱潸銑", "願翰諫霰", ""),
    "第八部": ("蕭肴豪", "篠巧皓", "嘯效號", ""),
    "第九部": ("歌", "哿", "箇", ""),
    "第十部": ("佳麻", "馬", "卦禡", ""),
    "第十一部": ("庚青蒸", "梗迥", "敬徑", ""),
    "第十二部": ("尤", "有", "宥", ""),
    "第十三部": ("侵", "寢", "沁", ""),
    "第十四部": ("覃鹽咸", "感琰豏", "勘豔陷", ""),
    "第十五部": ("", "", "", "屋沃"),
    "第十六部": ("", "", "", "覺藥"),
    "第十七部": ("", "", "", "質陌錫職緝"),
    "第十八部": ("", "", "", "物月曷黠屑葉"),
    "第十九部": ("", "", "", "合洽"),
}
# Song poets often rhymed a split group whole (晏殊's 浣溪沙 rhymes 杯台回来徊: 第三部 and 第五部
# characters of 十灰), so each split group is also a rhyme class of its own beside the 19 部:
# (name, the 平 group, its 仄 partners).
WHOLE_GROUPS = (("灰韵（三五部通押）", "灰", "賄隊泰"), ("佳韵（五十部通押）", "佳", "蟹卦"),
                ("元韵（六七部通押）", "元", "阮願"))
N_BU = len(BU)
NAMES = (*BU, *(name for name, _, _ in WHOLE_GROUPS))  # the rhyme classes: 19 部, then the whole groups


def _final(ch: str) -> str:
    from pypinyin import Style, lazy_pinyin

    return lazy_pinyin(ch, style=Style.FINALS, strict=False)[0]


def _split(group_char: str, ch: str) -> str | None:
    """The 部 of a character of a split group, by its final; None where the group is whole."""
    final = _final(ch)
    if group_char in "灰賄隊泰":
        return "第五部" if final.endswith("ai") else "第三部"
    if group_char in "佳蟹卦":
        return "第十部" if final in ("a", "ia", "ua") else "第五部"
    if group_char in "元阮願":
        return "第六部" if final in ("en", "un", "uen", "in", "vn", "n") else "第七部"
    return None


@cache
def _group_bu(groups: tuple[str, ...]) -> dict[int, tuple[int, ...]]:
    """平水韵 group index -> the 部 it belongs to (two for a split group)."""
    out: dict[int, list[int]] = {}
    for b, name in enumerate(BU):
        for part, kind in zip(BU[name], ("上平聲下平聲", "上聲", "去聲", "入聲")):
            for char in part:
                for g, full in enumerate(groups):
                    if full[-1] == char and full[:-1].rstrip("一二三四五六七八九十") in kind:
                        out.setdefault(g, []).append(b)
    return {g: tuple(bs) for g, bs in out.items()}


def bu_of(table: RhymeTable, ch: str) -> tuple[frozenset[int], frozenset[int]]:
    """(the rhyme classes where `ch` has a 平 reading, those where it has a 仄 one: 上去 or 入)."""
    by_group = _group_bu(table.groups)
    ping, ze = set(), set()
    for g in table.groups_of(ch):
        options = by_group[g]
        if len(options) > 1:
            chosen = _split(table.groups[g][-1], ch)
            options = (NAMES.index(chosen),) if chosen else options
        group_char = table.groups[g][-1]
        whole = [N_BU + k for k, (_, p, z) in enumerate(WHOLE_GROUPS) if group_char in p + z]
        (ping if g < table.n_ping else ze).update((*options, *whole))
    return frozenset(ping), frozenset(ze)


_NUMERALS = "一二三四五六七八九十"


def bu_index(name) -> int:
    """A 部 by its name: 第七部, 七部, 七 or 7 (either script)."""
    text = str(name).strip().replace("第", "").replace("部", "")
    if text.isdigit():
        number = int(text)
    else:
        number = {_number_name(k): k for k in range(1, N_BU + 1)}.get(text, 0)
    if not 1 <= number <= N_BU:
        raise GenerationError("unknown_bu", value=str(name))
    return number - 1


def _number_name(k: int) -> str:
    return _NUMERALS[k - 1] if k <= 10 else "十" + _NUMERALS[k - 11]
