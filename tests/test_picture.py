"""A poem as a PNG card: every Han character drawn with ink (no empty boxes), or a clear error."""

import io

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageStat

from poetgen.picture import MISSING, PAPER, PictureError, _font, find_font, render


def cjk_font_or_skip():
    try:
        return str(find_font())
    except PictureError as e:
        pytest.skip(str(e))


def cell(png: bytes, box) -> Image.Image:
    return Image.open(io.BytesIO(png)).convert("L").crop(box)


def tofu_cell(path: str, box) -> Image.Image:
    """What the font draws for a code point it lacks, where the card draws its first character."""
    image = Image.new("RGB", (box[2] + 20, box[3] + 20), PAPER)
    ImageDraw.Draw(image).text((60, 80), MISSING, font=_font(path, 56, True), fill=(42, 37, 32))
    return image.convert("L").crop(box)


def han_glyphs_have_ink(png: bytes, path: str, lines: list[str]) -> bool:
    for i, line in enumerate(lines[:2]):
        for j in range(len(line) - 1):
            box = (60 + 62 * j, 80 + 84 * i, 118 + 62 * j, 150 + 84 * i)
            drawn = cell(png, box)
            tofu = tofu_cell(path, (60, 80, 118, 150))
            if ImageStat.Stat(drawn).stddev[0] < 20:  # blank
                return False
            if not ImageChops.difference(drawn, tofu).getbbox():  # an empty box
                return False
    return True


def test_a_poem_card_draws_every_character(tiny_poet):
    path = cjk_font_or_skip()
    [poem] = tiny_poet.write(form="七绝", seed=3)
    png = tiny_poet.picture(poem)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size[0] >= 520 and image.size[1] > 400
    lines = [line for line in poem.text.split("\n") if line]
    assert han_glyphs_have_ink(png, path, lines)
    # the check itself can fail: a card of characters the font lacks is no card of ink
    assert not han_glyphs_have_ink(render([MISSING * 4 + "。"] * 2, "", simplified=True, check_glyphs=False),
                                   path, [MISSING * 4 + "。"] * 2)


def test_a_ci_card_keeps_its_stanzas(tiny_poet):
    cjk_font_or_skip()
    [poem] = tiny_poet.write(cipai="浣溪沙", seed=4)
    one_stanza = render([x for x in poem.text.split("\n") if x], "", stanza=0)
    two = tiny_poet.picture(poem)
    assert Image.open(io.BytesIO(two)).size[1] > Image.open(io.BytesIO(one_stanza)).size[1]


def test_a_character_the_font_lacks_is_named(monkeypatch):
    cjk_font_or_skip()
    with pytest.raises(PictureError, match="lacks 𰀀"):
        render(["山水𰀀月。"], "")
    monkeypatch.setenv("POETGEN_FONT", "/nowhere/font.ttc")
    with pytest.raises(PictureError, match="POETGEN_FONT"):
        render(["山水月。"], "")
