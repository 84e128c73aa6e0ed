"""Every message a user can meet, declared once with both its texts: English for the command
line and the Python API, Chinese for the page. An error is raised by its code and values
(`GenerationError("temperature", high=10, value=1e308)`); `str(error)` is the English,
`error.chinese` the page's. Nothing is translated by pattern, so rewording one text cannot
silently break the other.

In the Chinese text a value that came from the user is shown only when it is short and
printable (quoted “…”), so a forged request never has its text echoed back; `what` names a
field and is itself translated (FIELDS)."""

from __future__ import annotations

ENGLISH, CHINESE = 0, 1

# The fields a message may name, in both languages.
FIELDS: dict[str, tuple[str, str]] = {
    "start": ("start text", "起句"), "acrostic": ("acrostic", "藏头"), "tail": ("tail acrostic", "藏尾"),
    "theme": ("theme", "主题"), "tune": ("词牌 name", "词牌名"), "char": ("replacement character", "候选字"), "poem": ("poem", "诗"),
    "line": ("line", "句"), "position": ("position", "字"), "rhyme": ("rhyme", "韵脚"),
    "max_tokens": ("max_tokens", "长度上限"), "max_repeat": ("max_repeat", "重字上限"), "k": ("k", "候选数"),
    "n": ("n", "首数"), "seed": ("seed", "种子"), "top_k": ("top_k", "top-k"),
}
TONES = {"平": "平声", "仄": "仄声"}

MESSAGES: dict[str, tuple[str, str]] = {
    # sampling and counts
    "temperature": ("temperature must be a number from 0 (greedy) to {high}, got {value!r}",
                    "温度应在 0（贪心）到 {high} 之间"),
    "top_k": ("top_k must be a whole number >= 0 (0 = off), got {value!r}", "top-k 应是不小于 0 的整数"),
    "top_p": ("top_p must be in (0, 1] (1 = off), got {value!r}", "top-p 应在 0 到 1 之间（1 为不限）"),
    "whole_range": ("{what} must be a whole number from {low} to {high}, got {value!r}",
                    "{what}应是 {low} 到 {high} 之间的整数"),
    "kind": ("{name} must be {kind}, got {value!r}", "参数 {name} 的类型不对"),
    "unknown_params": ("unknown parameter(s): {names}", "有不认识的参数：{names}"),
    "stream_rerank": ("rerank chooses among finished poems: use write(), not write_stream()",
                      "重排只能用于写完的诗"),
    # user text
    "not_text": ("{what} must be text, got {kind}", "{what}必须是文字"),
    "too_long": ("{what} is too long ({length} characters; at most {limit})", "{what}太长：{length} 字，最多 {limit} 字"),
    "unreadable": ("the {what} holds characters that are not text (control or lone surrogate codes)",
                   "{what}里有无法识别的字符"),
    "unknown_chars": ("the model does not know these characters of the {what}: {chars}", "模型不认识{what}里的这些字：{chars}"),
    "theme_unknown": ("no keyword of the theme {value!r} is written with characters the model knows",
                      "主题{value}里没有模型认识的词"),
    # choices
    "style": ("style must be one of 唐 or 宋, got {value!r}", "风格只能是唐或宋"),
    "tang_only": ("this model was trained on Tang verse only: it cannot write in the manner of {value} "
                  "(use a model trained on the Song collections)", "这个模型只学过唐诗，写不了宋调"),
    "script": ("script must be simplified or traditional, got {value!r}", "字体只能是简体或繁体"),
    "tones": ("tones must be off, rhyme or strict, got {value!r}", "格律只能是严格、只押韵或不限"),
    "search": ("search must be best or off, got {value!r}", "写法只能是择优（best）或一次成诗（off）"),
    "form": ("unknown form {value!r}: choose one of 五绝, 七绝, 五律, 七律 or free", "没有{value}这个诗体：可选五绝、七绝、五律、七律"),
    "opening": ("opening must be one of {choices} for a free-form poem, got {value!r}", "开头标记不对"),
    "no_copy": ("no_copy must be true or false, got {value!r}", "no_copy 只能是 true 或 false"),
    "pattern": ("unknown pattern {value!r} for a {form}: choose {choices}", "{form}没有{value}这个格式：可选 {choices}"),
    "ci_pattern": ("a 词牌 has one pattern: pattern is for 律诗 and 绝句", "词牌的格律是固定的：平仄格式只用于律诗和绝句"),
    # form, tune and rhyme
    "ci_needs_tune": ("a ci needs its tune: give cipai (e.g. 浣溪沙; `poetgen cipai` lists them)", "写词请先选一个词牌"),
    "form_and_tune": ("ask for a form ({form}) or a 词牌 ({cipai}), not both", "诗体{form}与词牌{cipai}只能选一个"),
    "ci_opening": ("opening is for free-form poems, not ci", "开头标记只用于自由体，不用于词"),
    "tune_name": ("give the name of a 词牌, e.g. 浣溪沙", "请给出词牌名，如浣溪沙"),
    "unknown_tune": ("unknown 词牌 {value!r} ({count} tunes known, `poetgen cipai` lists them)", "没有{value}这个词牌"),
    "unknown_tune_near": ("unknown 词牌 {value!r} ({count} tunes known, `poetgen cipai` lists them); nearest: {near}",
                          "没有{value}这个词牌（最接近的：{near}）"),
    "acrostic_form": ("藏头/藏尾 need a form", "藏头、藏尾需要选定诗体（不能是自由体）"),
    "acrostic_length": ("an acrostic of {count} characters fits no form: give 4 (七绝, or form=五绝) or 8 "
                        "(七律, or form=五律)", "{count} 个字的藏头没有对应的诗体：四字写绝句，八字写律诗"),
    "free_tones": ("rhyme and tones need a regulated form (五绝, 七绝, 五律 or 七律)",
                   "押韵和平仄只用于格律诗词：自由体请选“不限”"),
    "start_too_long": ("start text is longer than the length cap of {limit} tokens", "起句超过了长度上限 {limit}"),
    "rhyme_needs_tones": ("a rhyme group needs tones='rhyme' or 'strict'", "选了韵部就要押韵：格律请选“严格格律”或“只押韵”"),
    "unknown_group": ("unknown 平水韵 rhyme group {value!r}: choose one of {choices}", "没有{value}这个平水韵韵部"),
    "unknown_bu": ("unknown 词林正韵 部 {value!r}: choose 第一部 to 第十九部 (or 1 to 19)",
                   "没有{value}这个词林正韵的部：第一部至第十九部"),
    "clash": ("{what} {char!r} clashes with {other!r} at line {line}, character {position}",
              "第 {line} 句第 {position} 字：{what}{char}与{other}冲突"),
    "start_longer": ("start text has {count} characters but {form} has only {limit}", "起句有 {count} 字，而{form}只有 {limit} 字"),
    "per_line": ("{what} needs one character per line: {lines} for {form}, got {count}",
                 "{what}每句一字：{form}要 {lines} 字，给了 {count} 字"),
    "no_pattern": ("no 格律 pattern admits the given characters with tones=strict ({reasons}); try tones='rhyme'",
                   "给定的字不合任何平仄格式（严格格律）：请改字，或选“只押韵”"),
    "small_group": ("rhyme group {group} has only {size} characters the model knows; a {form} needs {needed}",
                    "韵部{group}只有 {size} 个模型认识的字，{form}需要 {needed} 个"),
    "no_ping": ("{char!r} at the end of line {line} cannot rhyme: it has no 平声 reading", "第 {line} 句末的{char}没有平声读音，不能押韵"),
    "rhymes_disagree": ("the characters fixed at rhyme positions share no 平水韵 group{group}", "韵脚上给定的字不同韵"),
    "ci_tone": ("{char!r} at line {line}, character {position} of a {tune} needs a {tone} tone; try tones='rhyme'",
                "{char}在{tune}第 {line} 句第 {position} 字，此处应为{tone}：请改字，或选“只押韵”"),
    "small_bu": ("{bu} has too few characters the model knows in the tones a {tune} rhymes in",
                 "{bu}里模型认识的字太少，不够{tune}押韵"),
    "ci_rhymes_disagree": ("the characters fixed at the rhyme positions of a {tune} share no 词林正韵 部 in the tone "
                           "the tune asks for", "韵脚上给定的字不同部"),
    # ids
    "old_id": ("the id was made by an earlier poetgen ({prefix}) that sampled differently: this version cannot "
               "rebuild that poem exactly", "这个编号来自旧版 poetgen，无法精确还原"),
    "old_top_k_id": ("the id was made by an earlier poetgen ({prefix}) that sampled top-k differently: this "
                     "version cannot rebuild that poem exactly", "这个编号来自旧版 poetgen（top-k 采样不同），无法精确还原"),
    "not_an_id": ("not a poetgen poem id (they start with {prefix!r})", "这不是本站的诗编号（编号以 {prefix} 开头）"),
    "damaged_id": ("the poem id is damaged: {why}", "诗编号已损坏，无法还原"),
    "other_model_id": ("the poem id was made by another model (this is model {model}; a line-searched or polished "
                       "poem's id names its backward model too): it rebuilds its poem only with the models that wrote it",
                       "这个编号属于另一个模型（逐句择优或润色的诗也认逆向模型），无法在此还原"),
    # editing
    "place": ("{what} must be from 1 to {high} (counting from 1), got {value!r}", "{what}的位置应在 1 到 {high} 之间"),
    "fixed_place": ("line {line}, character {position} is fixed by the {what}", "第 {line} 句第 {position} 字由{what}给定，不能换"),
    "one_char": ("give exactly one replacement character, got {value!r}", "请给出一个候选字"),
    "breaks_rules": ("{char} breaks the poem's 格律 at line {line}, character {position}",
                     "{char}放在第 {line} 句第 {position} 字会失律"),
    # checking and repair
    "cannot_repair": ("this text cannot be made 合律 by changing its faulty characters alone: {verdict}",
                      "只改失律的字无法使这首合律：{verdict}"),
    "nothing_to_check": ("nothing to check: give the text of a poem", "请输入要检查的诗"),
    "not_lines": ("the text is not a poem of lines ending in ， or 。", "这段文字不是以逗号、句号分句的诗"),
    # the picture
    "no_font": ("no CJK font found: install one (Debian: apt-get install fonts-noto-cjk) or set POETGEN_FONT to "
                "a .ttc/.otf/.ttf file", "服务器上找不到中文字体：请安装 fonts-noto-cjk，或设置 POETGEN_FONT"),
    "font_env": ("POETGEN_FONT={path} is not a font file", "POETGEN_FONT 指向的不是字体文件"),
    "font_lacks": ("the font {font} lacks {chars}: set POETGEN_FONT to a fuller CJK font", "字体 {font} 缺少这些字：{chars}"),
}


def render(code: str, values: dict, language: int) -> str:
    """The message `code` with its values, in ENGLISH or CHINESE."""
    template = MESSAGES[code][language]
    shown = {key: _value(key, value, language) for key, value in values.items()}
    return template.format(**shown)


def _value(key: str, value, language: int):
    if key == "what" and value in FIELDS:
        return FIELDS[value][language]
    if language == ENGLISH:
        return value[:60] + "…" if isinstance(value, str) and len(value) > 61 else value
    if key == "tone":
        return TONES.get(value, value)
    if isinstance(value, str) and key in USER_VALUES:
        return quoted(value)
    return value


# Values that may hold a caller's text: in Chinese they are quoted when harmless, else left out.
USER_VALUES = {"value", "char", "other", "chars", "names", "form", "cipai"}


def quoted(text: str, limit: int = 16) -> str:
    """“text” when it is short and printable, else nothing: a message never echoes a long or
    strange string (a script, a control code) back to whoever sent it."""
    if text and len(text) <= limit and text.isprintable() and not any(c in text for c in "<>&\"'`"):
        return f"“{text}”"
    return ""
