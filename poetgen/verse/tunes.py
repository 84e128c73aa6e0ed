"""词谱: the pattern of each 词牌 (its shapes, tones, rhyme chains and stanzas), as derived
from the corpus's ci by corpus/derive_tunes.py into poetgen/data/cipu.json, and their lookup
by name (either script, the nearest named when unknown) or by shape."""

from __future__ import annotations

import difflib
import json
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

from ..errors import GenerationError, PoetgenError
from ..text.script import converter
from ..text.user_text import readable
from .pingshui import EITHER

MAX_VARIANTS = 4  # shapes kept per tune
DATA_FILE = Path(__file__).resolve().parent.parent / "data" / "cipu.json"
FORMAT = "poetgen-cipu-1"


@dataclass(frozen=True)
class CiPattern:
    name: str  # the 词牌, as the corpus writes it (简体)
    lengths: tuple[int, ...]  # characters per line
    marks: str  # the mark after each line, '，' or '。'
    stanza: int  # the line that opens the 下阕 (0: one stanza)
    tones: tuple[str, ...]  # per line, 平/仄/中 per position
    chains: tuple[int, ...]  # per line, the rhyme chain its end belongs to, or -1
    poems: int  # ci of this tune in the corpus
    shape_share: float  # share of them written in this shape
    variant: int = 0  # 0: the tune's most common shape; 1, 2...: its other shapes (又一体), by use

    @property
    def rhymes(self) -> tuple[int, ...]:
        return tuple(i for i, c in enumerate(self.chains) if c >= 0)

    @property
    def n_chars(self) -> int:
        return sum(self.lengths)

    def fixed_tone(self, line: int, position: int) -> str | None:
        """平 or 仄 where the pattern fixes a character's tone (a rhyme position's included:
        its tone picks the 部's 平 or 仄 characters), else None."""
        tone = self.tones[line][position]
        return None if tone == EITHER else tone

    def rhyme_tone(self, line: int) -> str:
        return self.tones[line][-1]

    def shape_text(self) -> str:
        """The pattern as a 词谱 prints it: 中仄平平仄（韵），… with the stanza break."""
        parts = []
        for i, (tones, mark) in enumerate(zip(self.tones, self.marks)):
            if i == self.stanza and i:
                parts.append("\n")
            parts.append(tones + ("（韵）" if self.chains[i] >= 0 else "") + mark)
        return "".join(parts)

    def to_dict(self) -> dict:
        return asdict(self)


# ----------------------------------------------------------------------------- lookup

@cache
def load_variants(path: str | None = None) -> dict[str, tuple[CiPattern, ...]]:
    """Tune name -> its patterns (the most common shape first), most written tunes first."""
    data = json.loads(Path(path or DATA_FILE).read_text(encoding="utf-8"))
    if data.get("format") != FORMAT:
        raise PoetgenError(f"{path or DATA_FILE} is not a poetgen 词谱 file")
    return {v[0]["name"]: tuple(CiPattern(**{**t, "lengths": tuple(t["lengths"]), "tones": tuple(t["tones"]),
                                             "chains": tuple(t["chains"])}) for t in v) for v in data["tunes"]}


def load(path: str | None = None) -> dict[str, CiPattern]:
    """Tune name -> its main pattern (the shape most written), most written tunes first."""
    return {name: v[0] for name, v in load_variants(path).items()}


def find(name: str, patterns: dict[str, CiPattern] | None = None) -> CiPattern:
    """A tune by name in either script, or an error naming the nearest tunes."""
    patterns = patterns if patterns is not None else load()
    if not isinstance(name, str) or not name.strip():
        raise GenerationError("tune_name")
    name = readable(name, "tune").strip()
    if name in patterns:
        return patterns[name]
    aliases = {part: p for full, p in patterns.items() for part in full.split("・")} | patterns
    if name in aliases:
        return aliases[name]

    simplified = converter("t2s").convert(name)
    if simplified in aliases:
        return aliases[simplified]
    near = difflib.get_close_matches(simplified, list(patterns), n=5, cutoff=0.3)
    if near:
        raise GenerationError("unknown_tune_near", value=name, count=len(patterns), near="、".join(near))
    raise GenerationError("unknown_tune", value=name, count=len(patterns))


def by_shape(lengths: tuple[int, ...], name: str | None = None) -> list[CiPattern]:
    """The patterns (of any tune, or of the tune named) whose lines have these lengths."""
    tunes = load_variants()
    chosen = tunes.values() if name is None else [tunes[find(name).name]]
    return [p for v in chosen for p in v if p.lengths == tuple(lengths)]
