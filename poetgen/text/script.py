"""繁 and 简: user text in either script is mapped to the model's traditional characters, and
poems are shown in the script asked for (OpenCC)."""

from __future__ import annotations

from functools import cache

SCRIPTS = ("traditional", "simplified")


@cache
def converter(config: str):
    """OpenCC's converter for `config` (s2t, t2s), loaded once per process: every layer that
    converts script asks here."""
    import opencc

    return opencc.OpenCC(config)


class Script:
    def __init__(self, known: dict[str, int]):
        self.known = known  # the model's vocabulary

    @property
    def _s2t(self):
        return converter("s2t")

    @property
    def _t2s(self):
        return converter("t2s")

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
        """The text in the script asked for. In simplified, a character is never shown in a
        rarer block than its traditional form (鸂 -> 㶉 and 鑪 -> 𬬻 stay 鸂 and 鑪: common
        fonts lack them), and a standard simplified form of the basic block comes first (讌: 宴)."""
        if script != "simplified":
            return text
        converted = self._t2s.convert(text)
        if len(converted) != len(text):
            converted = "".join(self._t2s.convert(ch) for ch in text)
        return "".join(COMMON_FORMS.get(o) or (c if rarity(c) <= rarity(o) else o) for o, c in zip(text, converted))


# Standard simplified forms, in the basic block, of characters whose OpenCC form is not in it,
# so that the rule of `display` alone would show a traditional or rare character. 讌: an old
# variant of 宴 (OpenCC: 䜩, of extension A); 﨑: the "tatsu-saki" 崎 of Japanese names. A
# character with a meaning of its own (鸂鶒, 紬绎, 芎藭) keeps its traditional form.
COMMON_FORMS = {"讌": "宴", "﨑": "崎"}


def rarity(ch: str) -> int:
    """0: not a Han character, or one of the basic CJK block, which every Chinese font has;
    1: CJK extension A or a compatibility ideograph, which many fonts lack; 2: extension B and
    later, which few have."""
    code = ord(ch)
    if 0x3400 <= code <= 0x4DBF or 0xF900 <= code <= 0xFAFF:
        return 1
    return 2 if 0x20000 <= code < 0x40000 else 0


def is_common(ch: str) -> bool:
    """Not a Han character, or one of the basic CJK block."""
    return rarity(ch) == 0
