"""The shapes poetgen knows, declared once: the four regulated forms and their line
shapes, the ci, the three collections, the line marks and what counts as a Han
character. Every layer reads them from here."""

from __future__ import annotations

import re

FORMS = ("五绝", "七绝", "五律", "七律")
OTHER = "其他"
CI = "词"
TANG, SONG, SONGCI = "唐诗", "宋诗", "宋词"
UNKNOWN_TUNE = "失调名"  # the dataset's label for a ci whose tune is lost
FORM_SHAPES = {(5, 4): "五绝", (7, 4): "七绝", (5, 8): "五律", (7, 8): "七律"}
SHAPE_OF_FORM = {form: shape for shape, form in FORM_SHAPES.items()}
LINE_END = "，。"

# Han ideographs: URO, extension A, compatibility, and the supplementary planes (B..H).
HAN_RANGES = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
HAN_RE = re.compile(f"[{HAN_RANGES}]")
POEM_TEXT = re.compile(f"^([{HAN_RANGES}]+[{LINE_END}])+$")  # a clean text: Han lines, each closed by its mark
# 囗 (the enclosure radical) stands for a lost character in 125 places of the training split, and
# the shipped corpus and vocabulary keep it. It is not masked, since masking any token moves the
# draws of poems that recorded ids must rebuild; top-p 0.9, the default, never reaches it. The
# next corpus should drop texts with it (corpus/prepare.py's placeholders).
LOST_CHARACTER_MARKS = "囗"
_SPLIT = re.compile(f"[{LINE_END}]")


def is_han(ch: str) -> bool:
    return HAN_RE.fullmatch(ch) is not None


def split_lines(text: str) -> list[str]:
    """Lines (句) of a clean text, without their punctuation."""
    return [line for line in _SPLIT.split(text) if line]


def form_of(lines: list[str]) -> str:
    lengths = {len(line) for line in lines}
    if len(lengths) != 1:
        return OTHER
    return FORM_SHAPES.get((lengths.pop(), len(lines)), OTHER)


def join_lines(lines: list[str]) -> str:
    """Regulated text: ，after odd lines, 。after even ones."""
    return "".join(line + ("，" if i % 2 == 0 else "。") for i, line in enumerate(lines))
