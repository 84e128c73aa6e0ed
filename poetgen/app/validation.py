"""The page's checks of raw input: Gradio hands the handlers the values a caller sent (it
enforces no lengths, steps or finiteness for raw HTTP callers), and each bad one is refused with a
message in Chinese and one line in the server's log."""

from __future__ import annotations

import contextlib
import logging
import math

import gradio as gr

from ..defaults import MAX_TEXT
from ..errors import PoetgenError

log = logging.getLogger("poetgen.page")


def refuse(message: str) -> gr.Error:
    """A rejected request: its message for the visitor, one line in the server's log, no
    traceback (a flood of bad requests must not flood the log)."""
    log.warning("rejected request: %s", message)
    return gr.Error(message, print_exception=False)


def checked_text(value, name: str, limit: int = MAX_TEXT) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise refuse(f"{name}必须是文字")
    if len(value) > limit:
        raise refuse(f"{name}太长：{len(value)} 字，最多 {limit} 字")
    return value.strip()


def checked_number(value, name: str, low: float, high: float, whole: bool = False):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise refuse(f"{name}必须是有限的数字")
    if whole and value != int(value):
        raise refuse(f"{name}必须是整数")
    if not low <= value <= high:
        raise refuse(f"{name}必须在 {low} 到 {high} 之间")
    return int(value) if whole else float(value)


def checked_flag(value, name: str) -> bool:
    if not isinstance(value, bool):
        raise refuse(f"{name}只能是“是”或“否”（true / false）")
    return value


def checked_choice(value, name: str, choices: list) -> str:
    allowed = [c[1] if isinstance(c, tuple) else c for c in choices]
    if value not in allowed:
        labels = [c[0] if isinstance(c, tuple) else c for c in choices]  # what the visitor sees
        shown = "、".join(map(str, labels[:12])) + ("等" if len(labels) > 12 else "")
        raise refuse(f"{name}只能是：{shown}")
    return value


@contextlib.contextmanager
def page_errors():
    """A user's mistake (any PoetgenError) becomes the page's error message, never a traceback."""
    try:
        yield
    except PoetgenError as e:
        raise refuse(e.chinese) from None
