"""繁 and 简: user text in either script is mapped to the model's traditional characters, and
poems are shown in the script asked for (OpenCC)."""

from __future__ import annotations

from functools import cached_property

SCRIPTS = ("traditional", "simplified")


class Script:
    def __init__(self, known: dict[str, int]):
        self.known = known  # the model's vocabulary

    @cached_property
    def _s2t(self):
        import opencc

        return opencc.OpenCC("s2t")

    @cached_property
    def _t2s(self):
        import opencc

        return opencc.OpenCC("t2s")

    def to_model(self, text: str) -> str:
        """Map user text (简 or 繁) to the model's traditional characters, char by char where
        the vocabulary knows the character, so 后 becomes 後 but a known 后 is not forced."""
        converted = self._s2t.convert(text)
        if len(converted) != len(text):
            converted = "".join(self._s2t.convert(ch) for ch in text)
        return "".join(c if c in self.known or o not in self.known else o for o, c in zip(text, converted))

    def simplified(self, text: str) -> str:
        return self._t2s.convert(text)

    def display(self, text: str, script: str) -> str:
        """The text in the script asked for. A simplified form that lies outside the CJK basic
        and extension-A blocks (鑪 -> 𬬻: common fonts lack it) is shown in its traditional form."""
        if script != "simplified":
            return text
        converted = self._t2s.convert(text)
        if len(converted) != len(text):
            converted = "".join(self._t2s.convert(ch) for ch in text)
        return "".join(c if is_common(c) or not is_common(o) else o for o, c in zip(text, converted))


def is_common(ch: str) -> bool:
    """Not a Han character, or one of the CJK basic or extension-A blocks."""
    code = ord(ch)
    if code < 0x3400 or 0xA000 <= code < 0xF900 or 0xFB00 <= code < 0x20000:
        return True
    return code <= 0x4DBF or 0x4E00 <= code <= 0x9FFF
