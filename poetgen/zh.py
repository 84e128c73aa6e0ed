"""The page speaks Chinese: the API's error messages (English, for the CLI and Python callers)
rendered in Chinese for the page and its HTTP API. One pattern per message the page can reach;
one that is not here keeps its English behind 请求有误."""

from __future__ import annotations

import re

WHAT = {"start text": "起句", "acrostic": "藏头", "tail acrostic": "藏尾", "theme": "主题",
        "replacement character": "候选字", "start": "起句", "line": "句", "position": "字"}
TONE = {"平": "平声", "仄": "仄声"}

MESSAGES: list[tuple[str, str]] = [
    (r"the model does not know these characters of the (.+): (.+)", "模型不认识{what1}里的这些字：{2}"),
    (r"(.+) is too long \((\d+) characters; at most (\d+)\)", "{what1}太长：{2} 字，最多 {3} 字"),
    (r"no keyword of the theme (.+) is written with characters the model knows", "主题 {1} 里没有模型认识的词"),
    (r"start text has (\d+) characters but (?:a )?(.+) has only (\d+)", "起句有 {1} 字，而{2}只有 {3} 字"),
    (r"(藏头|藏尾) needs one character per line: (\d+) for (?:a )?(.+), got (\d+)",
     "{1}每句一字：{3}要 {2} 字，给了 {4} 字"),
    (r"an acrostic of (\d+) characters fits no form.*", "{1} 个字的藏头没有对应的诗体：四字写绝句，八字写律诗"),
    (r"藏头/藏尾 need a form", "藏头、藏尾需要选定诗体（不能是自由体）"),
    (r"rhyme and tones need a regulated form.*", "押韵和平仄只用于格律诗词：自由体请选“不限”"),
    (r"(.+) '(.)' clashes with '(.)' at line (\d+), character (\d+)",
     "第 {4} 句第 {5} 字：{what1}“{2}”与“{3}”冲突"),
    (r"no 格律 pattern admits the given characters with tones=strict.*",
     "给定的字不合任何平仄格式（严格格律）：请改字，或选“只押韵”"),
    (r"'(.)' at line (\d+), character (\d+) of a (.+) needs a (.) tone.*",
     "“{1}”在{4}第 {2} 句第 {3} 字，此处应为{tone5}：请改字，或选“只押韵”"),
    (r"'(.)' at the end of line (\d+) cannot rhyme: it has no 平声 reading",
     "第 {2} 句末的“{1}”没有平声读音，不能押韵"),
    (r"the characters fixed at (?:the )?rhyme positions.*", "韵脚上给定的字不同韵"),
    (r"rhyme group (.+) has only (\d+) characters the model knows; a (.+) needs (\d+)",
     "韵部{1}只有 {2} 个模型认识的字，{3}需要 {4} 个"),
    (r"(第.+部) has too few characters the model knows.*", "{1}里模型认识的字太少，不够这个词牌押韵"),
    (r"unknown 平水韵 rhyme group '(.+)': choose one of (.+)", "没有“{1}”这个平水韵韵部"),
    (r"unknown 词林正韵 部 '(.+)'.*", "没有“{1}”这个词林正韵的部：第一部至第十九部"),
    (r"a rhyme group needs tones='rhyme' or 'strict'", "选了韵部就要押韵：格律请选“严格格律”或“只押韵”"),
    (r"unknown 词牌 '(.+)' \((\d+) tunes known.*?\)(?:; nearest: (.+))?", "没有“{1}”这个词牌（最接近的：{3}）"),
    (r"give the name of a 词牌.*", "请给出词牌名，如浣溪沙"),
    (r"a ci needs its tune.*", "写词请先选一个词牌"),
    (r"ask for a form \((.+)\) or a 词牌 \((.+)\), not both", "诗体（{1}）与词牌（{2}）只能选一个"),
    (r"a 词牌 has one pattern.*", "词牌的格律是固定的：平仄格式只用于律诗和绝句"),
    (r"this model was trained on Tang verse only.*", "这个模型只学过唐诗，写不了宋调"),
    (r"unknown pattern '(.+)' for a (.+): choose (.+)", "{2}没有“{1}”这个格式：可选 {3}"),
    (r"not a poetgen poem id.*", "这不是本站的诗编号（编号以 pg5_ 开头）"),
    (r"the poem id is damaged.*", "诗编号已损坏，无法还原"),
    (r"the poem id was made by another model.*", "这个编号属于另一个模型，无法在此还原"),
    (r"the id was made by an earlier poetgen.*", "这个编号来自旧版 poetgen，无法精确还原"),
    (r"(line|position) must be from 1 to (\d+) \(counting from 1\), got (.+)", "{what1}的位置应在 1 到 {2} 之间"),
    (r"line (\d+), character (\d+) is fixed by the (.+)", "第 {1} 句第 {2} 字由{what3}给定，不能换"),
    (r"give exactly one replacement character.*", "请给出一个候选字"),
    (r"(.+) breaks the poem's 格律 at line (\d+), character (\d+)", "“{1}”放在第 {2} 句第 {3} 字会失律"),
    (r"nothing to check.*", "请输入要检查的诗"),
    (r"no CJK font found.*", "服务器上找不到中文字体：请安装 fonts-noto-cjk，或设置 POETGEN_FONT"),
    (r"the font (.+) lacks (.+): set POETGEN_FONT.*", "字体 {1} 缺少这些字：{2}"),
    (r"the poem is too long to check \((\d+) characters; at most (\d+)\)", "诗太长：{1} 字，最多 {2} 字"),
    (r"the text is not a poem of lines ending in.*", "这段文字不是以逗号、句号分句的诗"),
]
_COMPILED = [(re.compile(pattern + r"\Z", re.S), template) for pattern, template in MESSAGES]


def chinese(message: str) -> str:
    """The page's wording of an API error message."""
    for pattern, template in _COMPILED:
        match = pattern.match(message)
        if match:
            return _fill(template, match)
    return f"请求有误：{message}"


def _fill(template: str, match: re.Match) -> str:
    def value(ref: re.Match) -> str:
        kind, number = ref.group(1), int(ref.group(2))
        text = match.group(number) or ""
        if kind == "what":
            return WHAT.get(text, text)
        if kind == "tone":
            return TONE.get(text, text)
        return text

    return re.sub(r"\{(what|tone|)(\d+)\}", value, template)
