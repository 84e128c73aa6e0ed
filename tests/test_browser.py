"""The page in a real browser: Debian's chromium driven by Playwright (no downloaded browser)."""

import os
from pathlib import Path

import pytest

sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = Path("/usr/bin/chromium")
# The flags a closed network needs: no background connections, no sandbox as root.
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("chromium is not installed (.ci/run installs it with apt)")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        yield browser
        browser.close()


def open_page(browser, server, height: int = 1600, width: int = 1280, query: str = ""):
    """The page at desktop width, loaded."""
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(server + "/" + query, wait_until="networkidle")
    return page


def clipboard_page(browser, server):
    """(context, page): the page loaded in a context that may read and write the clipboard."""
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.goto(server + "/", wait_until="networkidle")
    return context, page


def card_boxes(page) -> list[dict]:
    return page.evaluate("() => [...document.querySelectorAll('#poems .poem-card')]"
                         ".map(e => { const r = e.getBoundingClientRect(); return {x: r.x, y: r.y, w: r.width}; })")


def test_cards_in_a_grid_on_a_wide_screen_one_a_row_on_a_phone(browser, server):
    page = open_page(browser, server)
    page.locator("#write").click()
    sync_api.expect(page.locator("#poems .poem-card .meta").nth(2)).to_be_visible(timeout=60_000)
    boxes = card_boxes(page)
    assert len(boxes) == 3
    assert abs(boxes[0]["y"] - boxes[1]["y"]) < 2 and boxes[1]["x"] > boxes[0]["x"] + boxes[0]["w"] - 2  # side by side
    meta = page.locator("#poems .meta").first
    assert "评分" not in meta.inner_text() and "合律" in meta.inner_text()  # what a reader uses; the score on hover
    assert "评分" in meta.get_attribute("title")
    page.close()

    phone = open_page(browser, server, 844, 390)
    phone.locator("#write").click()
    sync_api.expect(phone.locator("#poems .poem-card .meta").nth(2)).to_be_visible(timeout=60_000)
    boxes = card_boxes(phone)
    assert boxes[1]["y"] > boxes[0]["y"] + 20 and abs(boxes[1]["x"] - boxes[0]["x"]) < 2  # one a row
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390 + 1
    phone.close()


def test_a_poems_link_opens_the_page_on_it(browser, server):
    context, page = clipboard_page(browser, server)
    page.locator("#write").click()
    plain = page.locator("#plain textarea")
    sync_api.expect(plain).not_to_have_value("", timeout=60_000)
    page.wait_for_load_state("networkidle")  # the cards' last render has landed: the buttons stay
    first_id = page.locator("#alt-id textarea").input_value()
    first_text = page.locator("#poems .poem").first.inner_text()
    link = page.locator("#poems .poem-link").first
    assert link.get_attribute("href") == f"?id={first_id}"
    copy = page.locator("#poems .copy-id").nth(1)  # the first card's second control (its name changes on click)
    assert copy.inner_text() == "复制链接"
    copy.click()
    sync_api.expect(copy).to_have_text("已复制", timeout=5_000)
    url = page.evaluate("() => navigator.clipboard.readText()")
    assert url == f"{server}/?id={first_id}"
    context.close()

    shared = open_page(browser, server, query=f"?id={first_id}")
    poem = shared.locator("#poems .poem").first
    sync_api.expect(poem).to_be_visible(timeout=60_000)
    assert poem.inner_text() == first_text
    assert shared.locator("#alt-id textarea").input_value() == first_id
    shared.close()


def not_blank(png: Path) -> bool:
    from PIL import Image, ImageStat

    image = Image.open(png).convert("L")
    return image.size[0] > 300 and ImageStat.Stat(image).stddev[0] > 10


def test_write_a_poem_then_change_a_character(browser, server, tmp_path):
    page = open_page(browser, server)
    page.get_by_label("藏头").fill("春夏秋冬")
    page.locator("#write").click()
    plain = page.locator("#plain textarea")
    sync_api.expect(plain).not_to_have_value("", timeout=60_000)
    first = plain.input_value().split("\n\n")[0].split("\n")
    assert [line[0] for line in first] == list("春夏秋冬")  # the default form is 七绝
    assert all(len(line) == 8 and line[-1] in "，。" for line in first)
    assert page.locator("#poems .poem").count() == 3  # three poems by default
    # The page's own stylesheet is in force (Gradio 6 takes it in launch): large poem type,
    # rhyme characters in the rhyme colour.
    poem_size, body_size = page.evaluate("""() => [document.querySelector('#poems .poem'), document.body]
        .map(e => parseFloat(getComputedStyle(e).fontSize))""")
    assert poem_size >= 1.5 * body_size
    rhyme_colour = page.evaluate("() => getComputedStyle(document.querySelector('#poems .poem .rhyme')).color")
    assert rhyme_colour == "rgb(31, 111, 178)"
    if os.environ.get("POETGEN_KEEP_SCREENSHOTS"):
        page.screenshot(path=os.environ["POETGEN_KEEP_SCREENSHOTS"] + "/poems.png", full_page=True)

    page.locator("#alternatives").click()
    choices = page.locator("#alt-choices label")
    sync_api.expect(choices.first).to_be_visible(timeout=30_000)
    assert 1 <= choices.count() <= 8 and "%" in choices.first.inner_text()
    picked = choices.nth(choices.count() - 1).inner_text().split()[0]
    choices.nth(choices.count() - 1).click()
    page.locator("#rewrite").click()
    sync_api.expect(page.locator("#rewritten .poem")).to_be_visible(timeout=30_000)
    rewritten = page.locator("#rewritten .poem").inner_text().replace("\n", "")
    assert rewritten.startswith(first[0] + first[1][:2] + picked)

    shot = tmp_path / "page.png"
    page.screenshot(path=str(shot), full_page=True)
    assert not_blank(shot)
    page.close()


def test_the_id_is_behind_a_copy_control(browser, server):
    context, page = clipboard_page(browser, server)
    page.locator("#write").click()
    button = page.locator("#poems .copy-id").first
    sync_api.expect(button).to_be_visible(timeout=60_000)
    first_id = page.locator("#alt-id textarea").input_value()
    assert first_id.startswith("pg7_") and first_id not in page.locator("#poems").inner_text()  # not in the text
    button.click()
    sync_api.expect(button).to_have_text("已复制", timeout=5_000)
    assert page.evaluate("() => navigator.clipboard.readText()") == first_id
    context.close()


def test_usable_at_phone_width(browser, server, tmp_path):
    page = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    page.goto(server + "/", wait_until="networkidle")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1  # no sideways scrolling
    sync_api.expect(page.locator("#write")).to_be_visible()
    shot = tmp_path / "phone.png"
    page.screenshot(path=str(shot))
    assert not_blank(shot)
    if os.environ.get("POETGEN_KEEP_SCREENSHOTS"):
        page.screenshot(path=os.environ["POETGEN_KEEP_SCREENSHOTS"] + "/phone.png", full_page=True)
    page.close()


def test_vertical_layout_and_a_marked_violation_in_the_check_tab(browser, server):
    page = open_page(browser, server, 1400)
    page.locator("#write").click()
    first = page.locator("#poems .poem").first
    sync_api.expect(first).to_be_visible(timeout=60_000)
    mode = "() => getComputedStyle(document.querySelector('#poems .poem')).writingMode"
    assert page.evaluate(mode) == "horizontal-tb"
    page.get_by_label("竖排（由上而下，自右而左）").check()
    page.wait_for_function(f"() => ({mode})() === 'vertical-rl'", timeout=10_000)  # as classical poems are printed
    if os.environ.get("POETGEN_KEEP_SCREENSHOTS"):
        page.screenshot(path=os.environ["POETGEN_KEEP_SCREENSHOTS"] + "/vertical.png", full_page=True)

    page.get_by_role("tab", name="格律检查").click()
    # 白天依山尽: 天 is 平 where the pattern wants 仄
    page.get_by_label("诗", exact=True).fill("白天依山尽，黄河入海流。欲穷千里目，更上一层楼。")
    page.locator("#check").click()
    bad = page.locator(".poem .bad").first
    sync_api.expect(bad).to_be_visible(timeout=30_000)
    assert bad.inner_text() == "天" and bad.get_attribute("title") == "应为仄"
    assert page.evaluate("e => getComputedStyle(e).color", bad.element_handle()) == "rgb(192, 57, 43)"
    if os.environ.get("POETGEN_KEEP_SCREENSHOTS"):
        page.screenshot(path=os.environ["POETGEN_KEEP_SCREENSHOTS"] + "/check.png", full_page=True)
    page.close()


def test_a_ci_by_its_tune_in_two_stanzas(browser, server):
    page = open_page(browser, server)
    tune = page.locator("#cipai input")
    tune.click()
    tune.fill("浣溪沙")
    page.get_by_role("option", name="浣溪沙", exact=True).click()
    # choosing a tune asks for a ci
    sync_api.expect(page.get_by_role("combobox", name="诗体", exact=True)).to_have_value("词", timeout=10_000)
    page.locator("#write").click()
    plain = page.locator("#plain textarea")
    sync_api.expect(plain).not_to_have_value("", timeout=60_000)
    first = plain.input_value().split("\n\n")[0].split("\n")
    assert [len(line) for line in first] == [8, 8, 8]  # the 上阕: three lines of 7 and a mark
    card = page.locator("#poems .poem-card").first
    assert "浣溪沙" in card.locator(".meta").inner_text()
    gap = page.evaluate("() => document.querySelector('#poems .poem .stanza').getBoundingClientRect().height")
    assert gap > 5  # the 下阕 set apart
    if os.environ.get("POETGEN_KEEP_SCREENSHOTS"):
        page.screenshot(path=os.environ["POETGEN_KEEP_SCREENSHOTS"] + "/ci.png", full_page=True)
    page.close()


def test_the_poem_as_a_picture(browser, server):
    import io
    import urllib.request

    from PIL import Image
    from test_picture import cjk_font_or_skip, han_glyphs_have_ink

    path = cjk_font_or_skip()
    page = open_page(browser, server)
    page.locator("#write").click()
    plain = page.locator("#plain textarea")
    sync_api.expect(plain).not_to_have_value("", timeout=60_000)
    first = [line for line in plain.input_value().split("\n\n")[0].split("\n") if line]
    page.locator("#picture").click()
    image = page.locator("#picture-card img").first  # the card itself is shown, not a file box
    sync_api.expect(image).to_be_visible(timeout=30_000)
    src = image.get_attribute("src")
    png = urllib.request.urlopen(src if src.startswith("http") else server + src, timeout=30).read()
    assert Image.open(io.BytesIO(png)).format == "PNG"
    assert han_glyphs_have_ink(png, path, first)
    page.close()
