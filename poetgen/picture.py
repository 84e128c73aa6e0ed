"""A poem as a picture: a PNG card (the poem, its form line, poetgen) for sharing.

Every Han character must draw: the card is set in a CJK font found on the system (fontconfig,
then the usual folders, or $POETGEN_FONT), and a character the font lacks (it would print as an
empty box, "tofu") is refused by name instead of drawn. Pillow comes with matplotlib."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from functools import cache
from pathlib import Path

from .errors import PoetgenError

FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "/System/Library/Fonts", "/Library/Fonts",
             "C:/Windows/Fonts", str(Path.home() / ".fonts"))
FONT_NAMES = ("NotoSerifCJK", "NotoSansCJK", "SourceHanSerif", "SourceHanSans", "Songti", "STSong", "simsun",
              "msyh", "wqy-zenhei", "wqy-microhei", "PingFang")
PAPER, INK, RHYME, MUTED = (251, 248, 241), (42, 37, 32), (31, 111, 178), (122, 112, 98)
MISSING = "\U0010fffd"  # a private-use code point no font draws: its rendering is the font's tofu


class PictureError(PoetgenError):
    pass


def find_font() -> Path:
    """A CJK font file: $POETGEN_FONT, fontconfig's choice for Chinese, or a known file name."""
    env = os.environ.get("POETGEN_FONT")
    if env:
        if not Path(env).is_file():
            raise PictureError("font_env", path=env)
        return Path(env)
    if shutil.which("fc-match"):
        found = subprocess.run(["fc-match", "-f", "%{file}", "serif:lang=zh-cn"], capture_output=True,
                               text=True, timeout=10).stdout.strip()
        if found and any(name.lower() in found.lower() for name in FONT_NAMES):
            return Path(found)
    for folder in FONT_DIRS:
        for path in sorted(Path(folder).rglob("*")) if Path(folder).is_dir() else ():
            if path.suffix.lower() in (".ttc", ".otf", ".ttf") and any(n.lower() in path.name.lower()
                                                                        for n in FONT_NAMES):
                return path
    raise PictureError("no_font")


@cache
def _font(path: str, size: int, simplified: bool):
    """The face of a collection that suits the script (SC or TC), else its first."""
    from PIL import ImageFont

    wanted = "SC" if simplified else "TC"
    first = ImageFont.truetype(path, size, index=0)
    for index in range(8):
        try:
            face = ImageFont.truetype(path, size, index=index)
        except OSError:
            break
        if face.getname()[0].endswith(wanted):
            return face
    return first


def _mask(font, ch: str) -> bytes:
    return bytes(font.getmask(ch))


def missing_glyphs(font, text: str) -> list[str]:
    """Characters of `text` that the font would draw as its empty box."""
    tofu = _mask(font, MISSING)
    return sorted({ch for ch in text if not ch.isspace() and _mask(font, ch) == tofu})


def render(lines: list[str], title: str, rhyme_lines: list[int] = (), stanza: int = 0,
           simplified: bool = True, check_glyphs: bool = True) -> bytes:
    """The PNG of a poem: its lines (each with its mark) large, the title line small beneath,
    rhymes in the page's rhyme colour. check_glyphs=False only to draw a counter-example."""
    from PIL import Image, ImageDraw

    path = str(find_font())
    big, small = _font(path, 56, simplified), _font(path, 22, simplified)
    lacking = missing_glyphs(big, "".join(lines) + title) if check_glyphs else []
    if lacking:
        raise PictureError("font_lacks", font=Path(path).name, chars="".join(lacking[:8]))
    width = max(120 + 62 * max(len(line) for line in lines), 120 + int(small.getlength(title)), 520)
    gaps = 28 if stanza else 0
    height = 110 + 84 * len(lines) + gaps + 110
    card = Image.new("RGB", (width, height), PAPER)
    draw = ImageDraw.Draw(card)
    draw.rectangle([14, 14, width - 15, height - 15], outline=(231, 220, 196), width=2)
    y = 80
    for i, line in enumerate(lines):
        if stanza and i == stanza:
            y += gaps
        x = 60
        for j, ch in enumerate(line):
            rhymes = i in rhyme_lines and j == len(line.rstrip("，。")) - 1
            draw.text((x, y), ch, font=big, fill=RHYME if rhymes else INK)
            x += 62
        y += 84
    draw.text((60, y + 24), title, font=small, fill=MUTED)
    draw.text((width - 60 - small.getlength("poetgen"), y + 24), "poetgen", font=small, fill=MUTED)
    out = io.BytesIO()
    card.save(out, format="PNG", optimize=True)
    return out.getvalue()
