"""What readers fault in a poem beyond its 格律, as figures a search can weigh: characters
repeated for no purpose and seasons that clash (春 beside 秋, 夏 beside 冬, or three seasons in
one poem). The readers' benchmark reports the same figures (benchmarks/readers.py)."""

from __future__ import annotations

from collections import Counter

from ..text.forms import is_han
from ..text.script import converter

SEASON_WORDS = {
    "春": ("春", "桃花", "杏花", "柳絮", "燕归", "莺", "清明", "寒食", "踏青", "海棠", "梨花"),
    "夏": ("夏", "荷", "莲", "蝉", "榴花", "薰风", "梅雨"),
    "秋": ("秋", "菊", "霜", "雁", "落叶", "枫", "蟋蟀", "重阳", "芦花", "蒹葭"),
    "冬": ("冬", "雪", "寒梅", "冰", "腊", "岁暮"),
}
SEASON_ORDER = "春夏秋冬"
# Phrases whose season character does not name the season: youth, years, ages, white hair.
MASKED = ("青春", "春秋", "千秋", "霜鬓", "鬓霜", "霜发", "发如霜", "鬓如霜")


def repeated_chars(text: str) -> int:
    """Distinct characters occurring more than once in the poem (line marks aside)."""
    counts = Counter(ch for ch in text if is_han(ch))
    return sum(1 for n in counts.values() if n > 1)


def seasons_of(simplified: str) -> set[str]:
    for phrase in MASKED:
        simplified = simplified.replace(phrase, "〇" * len(phrase))
    return {season for season, words in SEASON_WORDS.items() if any(w in simplified for w in words)}


def season_clash(seasons: set[str]) -> bool:
    """More than two seasons, or two that are not neighbours in the year (春/秋, 夏/冬)."""
    if len(seasons) > 2:
        return True
    if len(seasons) < 2:
        return False
    a, b = sorted(SEASON_ORDER.index(s) for s in seasons)
    return (b - a) % 4 == 2


def faults(text: str) -> tuple[int, bool]:
    """(repeated characters, whether its seasons clash) of a poem in either script."""
    return repeated_chars(text), season_clash(seasons_of(converter("t2s").convert(text)))
