"""The Gradio page: a thin layer over the Poet API. Every input is validated on the server,
because Gradio does not enforce lengths, steps or finiteness for raw HTTP callers."""

from __future__ import annotations

import argparse
import contextlib
import html
import json
import logging
import math
import os
import re
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
# TensorFlow's start-up lines (CUDA probes, oneDNN notices) mean nothing to a reader of the
# page's log; TF_CPP_MIN_LOG_LEVEL=0 brings them back.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import gradio as gr  # noqa: E402

from .cipu import find  # noqa: E402
from .corpus import FORMS  # noqa: E402
from .defaults import MAX_CHECK_TEXT, MAX_SEED, MAX_TEXT, default_model_dir  # noqa: E402
from .errors import PoetgenError  # noqa: E402
from .ids import MAX_ID, decode_id  # noqa: E402
from .native_log import quiet_native_stderr  # noqa: E402
from .params import WriteParams  # noqa: E402
from .prosody import Report, rhyme_table  # noqa: E402

if TYPE_CHECKING:
    from .api import Poem, Poet
    from .repair import Repaired

FORM_CHOICES = ["自由", *FORMS, "词"]
NO_TUNE = "（选词牌）"
AUTO_TUNE = "自动识别"
TONE_CHOICES = [("严格格律", "strict"), ("只押韵", "rhyme"), ("不限", "off")]
SCRIPT_CHOICES = [("简体", "simplified"), ("繁體", "traditional")]
STYLE_CHOICES = [("唐风", "唐"), ("宋调", "宋")]
MAX_WEB_POEMS = 16
MAX_WEB_TEMPERATURE, MAX_WEB_TOP_K = 2.0, 1000
STREAM_CHUNK = 16  # tokens per draft: about a couplet of a 七言 poem
WRITE_SECONDS = 30  # a generator's own deadline: Gradio's time_limit does not stop one mid-stream
EXAMPLES = [
    ["七绝", "", "春夏秋冬", "", "自动", "strict", 0.8, 0, 1.0, 3, 1, "simplified", "唐", NO_TUNE],
    ["五律", "明月", "", "", "自动", "strict", 0.8, 40, 0.95, 3, 7, "simplified", "唐", NO_TUNE],
    ["七律", "", "", "思念故乡", "陽", "strict", 0.7, 0, 0.9, 2, 3, "simplified", "宋", NO_TUNE],
    ["词", "", "", "秋夜 思乡", "自动", "strict", 0.8, 0, 1.0, 2, 5, "simplified", "宋", "浣溪沙"],
    ["五绝", "", "", "江雪 孤舟", "自动", "rhyme", 1.0, 0, 1.0, 4, 11, "traditional", "唐", NO_TUNE],
]
MAX_LINES, MAX_LINE_CHARS = 30, 12  # of any form or tune: the 换字 place's bounds
CSS = """
.poem-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 19em), 1fr)); gap: 1em;
  margin: 0.6em 0; }
.poem-card { background: #fbf8f1; border: 1px solid #e7dcc4; border-radius: 10px; padding: 1.1em 1.4em;
  box-shadow: 0 1px 4px rgba(60, 40, 10, 0.07); min-width: 0; }
.poem { font-size: 1.75rem; line-height: 2; letter-spacing: 0.12em; color: #2a2520; margin: 0.2em 0 0.5em;
  font-family: "Noto Serif CJK SC", "Noto Serif SC", "Source Han Serif SC", "Songti SC", "STSong", "SimSun",
  "Noto Serif CJK TC", serif; }
.poem .bad { color: #c0392b; text-decoration: underline wavy; }
.poem .rhyme { color: #1f6fb2; font-weight: bold; }
.poem .changed { color: #1e7b34; background: #e4f4e4; border-radius: 3px; }
.poem .stanza { display: block; block-size: 0.9em; }
.meta { color: #7a7062; font-size: 0.85em; word-break: break-all; }
.poem-link { color: #7a7062; margin-left: 0.4em; }
.copy-id { font-size: 0.85em; color: #7a7062; background: none; border: 1px solid #d8ccb2; border-radius: 4px;
  padding: 0 0.5em; margin-left: 0.4em; cursor: pointer; }
.vertical .poem { writing-mode: vertical-rl; text-orientation: upright; line-height: 1.8; max-height: 24em; }
.vertical .poem-grid { direction: rtl; }
.vertical .poem-card { direction: ltr; }
@media (max-width: 600px) { .poem { font-size: 1.45rem; letter-spacing: 0.05em; } .poem-card { padding: 0.8em; } }
"""


# ----------------------------------------------------------------------------- validation

log = logging.getLogger("poetgen.page")


def refuse(message: str) -> gr.Error:
    """A rejected request: its message for the visitor, one line in the server's log, no
    traceback (a flood of bad requests must not flood the log)."""
    log.warning("rejected request: %s", message)
    return gr.Error(message, print_exception=False)


class PageBlocks(gr.Blocks):
    """Blocks whose input errors speak Chinese: values missing from a raw HTTP call are refused
    like any other bad input (Gradio's own check says it in English with a traceback and sends
    the caller no message). The handlers get the raw values (`preprocess=False`) and check them."""

    async def preprocess_data(self, block_fn, inputs, state, explicit_call=False):
        if len(inputs) < len(block_fn.inputs):
            raise refuse(f"参数不全：需要 {len(block_fn.inputs)} 个值，收到 {len(inputs)} 个")
        try:
            return await super().preprocess_data(block_fn, inputs, state, explicit_call)
        except gr.Error:
            raise
        except Exception:  # noqa: BLE001 - any value Gradio cannot take is the caller's mistake
            raise refuse("输入有误：有一个值的类型不对") from None

def _text(value, name: str, limit: int = MAX_TEXT) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise refuse(f"{name}必须是文字")
    if len(value) > limit:
        raise refuse(f"{name}太长：{len(value)} 字，最多 {limit} 字")
    return value.strip()


def _number(value, name: str, low: float, high: float, whole: bool = False):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise refuse(f"{name}必须是有限的数字")
    if whole and value != int(value):
        raise refuse(f"{name}必须是整数")
    if not low <= value <= high:
        raise refuse(f"{name}必须在 {low} 到 {high} 之间")
    return int(value) if whole else float(value)


def _choice(value, name: str, choices: list) -> str:
    allowed = [c[1] if isinstance(c, tuple) else c for c in choices]
    if value not in allowed:
        labels = [c[0] if isinstance(c, tuple) else c for c in choices]  # what the visitor sees
        shown = "、".join(map(str, labels[:12])) + ("等" if len(labels) > 12 else "")
        raise refuse(f"{name}只能是：{shown}")
    return value


# ----------------------------------------------------------------------------- rendering

def marked_lines(lines: list[str], marks: list[str], report: dict) -> str:
    """The lines of a poem, each with its mark: rhymes in the rhyme colour, a character off
    its pattern in red with the tone it should have on hover."""
    bad = {tuple(v) for v in report.get("violations", [])}
    rhyme_lines = set(report.get("rhyme_lines", []))
    expected = report.get("expected", [])
    out = []
    for i, (line, mark) in enumerate(zip(lines, marks)):
        cells = []
        for j, ch in enumerate(line):
            if (i, j) in bad:
                want = expected[i][j] if i < len(expected) and j < len(expected[i]) else ""
                cells.append(f'<span class="bad" title="应为{want}">{html.escape(ch)}</span>')
            elif j == len(line) - 1 and i in rhyme_lines:
                cells.append(f'<span class="rhyme">{html.escape(ch)}</span>')
            else:
                cells.append(html.escape(ch))
        out.append("".join(cells) + html.escape(mark))
    if 0 < report.get("stanza", 0) < len(out):  # a ci: its 下阕 set apart (a text may be shorter than its tune)
        out[report["stanza"]] = '<span class="stanza"></span>' + out[report["stanza"]]
    return "<br>".join(out)


def render_poems(poems: list[Poem]) -> str:
    """The poems as cards in a grid: several a row on a wide screen, one on a phone."""
    return f'<div class="poem-grid">{"".join(render_poem(p) for p in poems)}</div>'


def render_poem(poem: Poem) -> str:
    """One card: the poem, then what a reader can use (its verdict names the form or tune, the
    pattern and the rhyme); the model's score only on hover."""
    report = poem.check
    marks = [shown[-1:] for shown in poem.text.split("\n") if shown]
    verdict = html.escape(report.get("verdict", "") or poem.form)
    return (f'<div class="poem-card"><div class="poem">{marked_lines(poem.lines, marks, report)}</div>'
            f'<div class="meta" title="模型评分（每字平均对数概率）{poem.score:.3f}">{verdict}<br>'
            f'{copy_id(poem.id)}{copy_link(poem.id)}</div></div>')


COPY_JS = "navigator.clipboard&&navigator.clipboard.writeText({what}).then(()=>{{this.textContent='已复制'}})"


def copy_id(poem_id: str) -> str:
    """The id behind a small control: a click copies it (the page runs on localhost, where the
    clipboard API is allowed), and it stays selectable in a tooltip for other browsers."""
    quoted = html.escape(poem_id, quote=True)
    return (f'<button class="copy-id" data-id="{quoted}" title="{quoted}" '
            f'onclick="{COPY_JS.format(what="this.dataset.id")}">复制编号</button>')


def copy_link(poem_id: str) -> str:
    """The poem's own address (`?id=…`, which opens the page on it) as a link and a copy control."""
    quoted = html.escape(poem_id, quote=True)
    url = "location.origin+location.pathname+'?id='+this.dataset.id"
    return (f'<a class="poem-link" href="?id={quoted}" target="_blank">链接</a>'
            f'<button class="copy-id" data-id="{quoted}" onclick="{COPY_JS.format(what=url)}">复制链接</button>')


def render_draft(text: str) -> str:
    """A poem being written, before its check."""
    return f'<div class="poem-card"><div class="poem">{html.escape(text)}</div></div>'


def render_alternatives(choices: list[tuple[str, float]]) -> list[str]:
    return [f"{ch} {p:.1%}" for ch, p in choices]


def render_report(report: Report, text: str = "") -> str:
    """The check of a poem: the poem itself marked as on the writing tab (when its lines are the
    ones checked), the verdict, and each line's tones against its pattern."""
    parts = re.findall(r"([^，。,.!?！？；;：:、\s　]+)([，。,.!?！？；;：:、]?)", text)
    card = ""
    if [len(line) for line, _ in parts] == [len(t) for t in report.tones]:
        lines, marks = [line for line, _ in parts], [mark or "" for _, mark in parts]
        card = f'<div class="poem-card"><div class="poem">{marked_lines(lines, marks, report.to_dict())}</div></div>'
    rows = []
    for i, tones in enumerate(report.tones):
        want = report.expected[i] if i < len(report.expected) else ""
        marks = "".join(f'<span class="bad">{t}</span>' if [i, j] in report.violations else t
                        for j, t in enumerate(tones))
        rows.append(f"<tr><td>{i + 1}</td><td>{marks}</td><td>{want}</td></tr>")
    rhyme = " ".join(report.rhyme_chars)
    return (card + f"<p><b>{html.escape(report.verdict)}</b></p>"
            f"<table><tr><th>句</th><th>平仄</th><th>格律</th></tr>{''.join(rows)}</table>"
            f"<p>韵脚：{html.escape(rhyme)} {html.escape(report.rhyme_group or '')}</p>")


def _changed(change, ch: str) -> str:
    why = f"原为“{html.escape(change.old)}”：{html.escape(change.why)}"
    return f'<span class="changed" title="{why}">{html.escape(ch)}</span>'


def render_repair(repaired: Repaired) -> str:
    """The repaired poem, its changed characters marked (the old one and the reason on hover),
    then the changes one by one; or the word that the poem holds."""
    if repaired.unchanged:
        return f"<p><b>合律，无需修改</b>（{html.escape(repaired.report.verdict)}）</p>"
    changed = {(c.line, c.position): c for c in repaired.changes}
    parts = re.findall(r"([^，。,.!?！？；;：:、\s　]+)([，。,.!?！？；;：:、]?)", repaired.text)
    lines = []
    for i, (line, mark) in enumerate(parts):
        cells = [_changed(changed[i, j], ch) if (i, j) in changed else html.escape(ch) for j, ch in enumerate(line)]
        lines.append("".join(cells) + html.escape(mark))
    items = "".join(f"<li>第 {c.line + 1} 句第 {c.position + 1} 字：{html.escape(c.old)} → {html.escape(c.new)}"
                    f"（{html.escape(c.why)}）</li>" for c in repaired.changes)
    return (f'<div class="poem-card"><div class="poem">{"<br>".join(lines)}</div>'
            f'<div class="meta">{html.escape(repaired.report.verdict)}</div></div><ol class="changes">{items}</ol>')


# ----------------------------------------------------------------------------- the page

class LoadingPoet:
    """Stands in for the Poet while TensorFlow, the model and the decoding loops load in the
    background, so the page answers within seconds of start; a request that comes early waits."""

    def __init__(self, model_dir: str | Path | None):
        self.model_dir = Path(model_dir) if model_dir else default_model_dir()
        if not (self.model_dir / "config.json").is_file():
            raise PoetgenError(f"{self.model_dir} is not a poetgen model directory (no config.json)")
        self.table = rhyme_table()
        self._ready = threading.Event()
        self.warm = threading.Event()  # set once the decoding loops are compiled (or loading failed)
        self._poet: Poet | None = None
        self._error: Exception | None = None
        threading.Thread(target=self._load, daemon=True, name="poet-loader").start()

    def _load(self) -> None:
        try:
            with quiet_native_stderr():  # TensorFlow's start-up lines, unless TF_CPP_MIN_LOG_LEVEL=0
                from .api import Poet

                self._poet = Poet.load(self.model_dir)
            if os.environ["TF_CPP_MIN_LOG_LEVEL"] != "0":
                import tensorflow as tf

                tf.get_logger().setLevel("ERROR")  # its notes on tracing while the loops compile
        except Exception as e:  # noqa: BLE001 - reported to every request and on the console
            self._error = e
            print(f"poetgen: error: the model cannot be loaded: {e}", file=sys.stderr, flush=True)
        finally:
            self._ready.set()
        try:
            if self._poet is not None:
                self._poet.warm_up()
                print("warm: every decoding loop is compiled", flush=True)
        finally:
            self.warm.set()

    def check(self, text: str, cipai: str | None = None):
        """The 格律 check needs no model: it answers while the model still loads."""
        from .prosody import check_text

        return check_text(text, self.table, cipai)

    def __getattr__(self, name: str):
        if not self._ready.wait(timeout=120):
            raise refuse("模型仍在加载，请稍候再试")
        if self._error is not None:
            raise refuse(f"模型无法加载：{getattr(self._error, 'chinese', self._error)}")
        return getattr(self._poet, name)


@contextlib.contextmanager
def page_errors():
    """A user's mistake (any PoetgenError) becomes the page's error message, never a traceback."""
    try:
        yield
    except PoetgenError as e:
        raise refuse(e.chinese) from None


class Handlers:
    """What the page's buttons call, with the raw values Gradio hands over: each checks its
    inputs itself and speaks to the Poet. Plain methods, so tests call them without a server."""

    def __init__(self, poet: Poet | LoadingPoet):
        from .cilin import N_BU, NAMES
        from .cipu import load

        self.poet = poet
        self.shi_groups = [poet.table.short_name(i) for i in range(poet.table.n_ping)]
        self.ci_groups = list(NAMES[:N_BU])
        self.groups = ["自动", *self.shi_groups, *self.ci_groups]
        self.tunes = list(load())  # most written first

    def tune(self, value, none: str) -> str:
        """A 词牌 of the dropdown (or `none`); any other name is looked up, so a misspelt one is
        refused naming the nearest tunes rather than listing them all."""
        if value == none or value in self.tunes:
            return value
        _text(value, "词牌", 40)
        with page_errors():
            name = find(value).name
        if name not in self.tunes:
            raise refuse("这个词牌不在网页的词牌表里")
        return name

    def rhyme_of(self, rhyme, form: str) -> str | None:
        rhyme = _choice(rhyme, "韵部", self.groups)
        if rhyme == "自动":
            return None
        if (rhyme in self.ci_groups) != (form == "词"):
            raise refuse("词用词林正韵的部（第一部…第十九部），诗用平水韵（東、陽…）")
        return rhyme

    def write_kwargs(self, form, start, acrostic, theme, rhyme, tones, temperature, top_k, top_p, n, seed,
                     script, style, cipai=NO_TUNE) -> dict:
        form = _choice(form, "诗体", FORM_CHOICES)
        tones = _choice(tones, "格律", TONE_CHOICES)
        cipai = self.tune(cipai, NO_TUNE)
        if form == "词" and cipai == NO_TUNE:
            raise refuse("写词请先选一个词牌")
        if form != "词" and cipai != NO_TUNE:  # the page's own controls never send this mix
            raise refuse(f"选了词牌{cipai}，诗体就应是“词”：写诗请把词牌设为{NO_TUNE}")
        kwargs = dict(
            form=None if form == "词" else "free" if form == "自由" else form,
            cipai=cipai if form == "词" else None,
            start=_text(start, "起句"), acrostic=_text(acrostic, "藏头", MAX_LINES), theme=_text(theme, "主题"),
            rhyme=self.rhyme_of(rhyme, form),
            tones=tones if form != "自由" or tones == "off" else "off",
            temperature=_number(temperature, "温度", 0, MAX_WEB_TEMPERATURE),
            top_k=_number(top_k, "top-k", 0, MAX_WEB_TOP_K, True),
            top_p=_number(top_p, "top-p", 0.01, 1), n=_number(n, "首数", 1, MAX_WEB_POEMS, True),
            seed=_number(seed, "种子", 0, MAX_SEED, True), script=_choice(script, "字体", SCRIPT_CHOICES),
            style=_choice(style, "风格", STYLE_CHOICES),
        )
        if kwargs["tones"] == "off":
            kwargs["rhyme"] = None
        return kwargs

    def write(self, form, start, acrostic, theme, rhyme, tones, temperature, top_k, top_p, n, seed, script,
              style="唐", cipai=NO_TUNE):
        kwargs = self.write_kwargs(form, start, acrostic, theme, rhyme, tones, temperature, top_k, top_p, n,
                                   seed, script, style, cipai)
        deadline = time.monotonic() + WRITE_SECONDS
        # Streamed as it is written: the compiled loop runs a few tokens at a time and each
        # draft shows every poem so far; concurrent visitors still share decoding passes.
        with page_errors():
            for texts, poems in self.poet.write_stream(chunk=STREAM_CHUNK, **kwargs):
                if time.monotonic() > deadline:
                    raise refuse(f"超时：超过 {WRITE_SECONDS} 秒")
                if poems is None:
                    yield f'<div class="poem-grid">{"".join(render_draft(text) for text in texts)}</div>', "", ""
        yield render_poems(poems), "\n\n".join(p.text for p in poems), poems[0].id

    def poem_id(self, value) -> str:
        """An id the page will rebuild: well formed, and asking no more work than the page itself
        gives one request (a forged id could otherwise ask for the 768th poem of a batch)."""
        poem_id = _text(value, "编号", MAX_ID)
        if not poem_id:
            raise refuse("先写一首诗，或填入诗的编号")
        with page_errors():
            params, _, index = decode_id(poem_id, self.poet.model_hash)
        if index >= MAX_WEB_POEMS or params.temperature > MAX_WEB_TEMPERATURE or params.top_k > MAX_WEB_TOP_K \
                or params.max_tokens > WriteParams().max_tokens:
            raise refuse("这个编号超出网页所写的范围（首数、温度或长度）：请用命令行 poetgen generate --id 还原")
        return poem_id

    def picture(self, poem_id):
        """The PNG card of a poem, shown on the page with its download button. It is handed over
        in memory: Gradio writes its one cached copy (cleared by the page's delete_cache)."""
        import io

        from PIL import Image

        poem_id = self.poem_id(poem_id)
        with page_errors():
            png = self.poet.picture(self.poet.regenerate(poem_id))
        return Image.open(io.BytesIO(png))

    def check(self, text, cipai=AUTO_TUNE):
        text = _text(text, "诗", MAX_CHECK_TEXT)
        cipai = self.tune(cipai, AUTO_TUNE)
        with page_errors():
            return render_report(self.poet.check(text, None if cipai == AUTO_TUNE else cipai), text)

    def open_link(self, request: gr.Request):
        """The poem of the page's `?id=…`, shown as if just written (nothing without one)."""
        poem_id = request.query_params.get("id") if request is not None else None
        if not poem_id:
            return gr.skip(), gr.skip(), gr.skip()
        poem_id = self.poem_id(poem_id)
        with page_errors():
            poem = self.poet.regenerate(poem_id)
        return render_poems([poem]), poem.text, poem.id

    def repair(self, text, cipai=AUTO_TUNE):
        """修改建议: the repaired poem with its changed characters marked, and each change named."""
        text = _text(text, "诗", MAX_CHECK_TEXT)
        cipai = self.tune(cipai, AUTO_TUNE)
        with page_errors():
            repaired = self.poet.repair(text, None if cipai == AUTO_TUNE else cipai)
        return render_repair(repaired)

    def regenerate(self, poem_id):
        poem_id = self.poem_id(poem_id)
        with page_errors():
            return render_poems([self.poet.regenerate(poem_id)])

    @staticmethod
    def place(line, position) -> tuple[int, int]:
        return (_number(line, "句", 1, MAX_LINES, True) - 1, _number(position, "字", 1, MAX_LINE_CHARS, True) - 1)

    def alternatives(self, poem_id, line, position):
        poem_id = self.poem_id(poem_id)
        with page_errors():
            choices = self.poet.alternatives(poem_id, *self.place(line, position))
        labels = render_alternatives(choices)
        return ([{"char": ch, "probability": round(p, 5)} for ch, p in choices],
                gr.Radio(choices=labels, value=labels[0] if labels else None))

    def rewrite(self, poem_id, line, position, choice):
        poem_id = self.poem_id(poem_id)
        choice = _text(choice, "候选字", 20)
        if not choice:
            raise refuse("先选一个候选字")
        with page_errors():
            poem = self.poet.rewrite(poem_id, *self.place(line, position), choice.split()[0])
        return render_poems([poem]), poem.text, poem.id


def build_app(poet: Poet | LoadingPoet) -> gr.Blocks:
    handlers = Handlers(poet)
    # delete_cache: the pictures Gradio caches are deleted after an hour, checked every ten minutes.
    with PageBlocks(title="poetgen 诗词生成", analytics_enabled=False, delete_cache=(600, 3600)) as app:
        gr.Markdown("# poetgen · 格律诗词生成\n"
                    "以全唐诗、全宋诗、全宋词训练的 LSTM 写五绝、七绝、五律、七律，按词牌填词："
                    "藏头、主题、押韵、平仄，唐风或宋调。")
        with gr.Tab("写诗"):
            shown = write_tab(handlers)
        with gr.Tab("格律检查"):
            text = gr.Textbox(label="诗", lines=6, max_length=MAX_CHECK_TEXT,
                              placeholder="白日依山尽，黄河入海流。欲穷千里目，更上一层楼。")
            check_tune = gr.Dropdown([AUTO_TUNE, *handlers.tunes], value=AUTO_TUNE, label="词牌（词按句式自动识别）")
            with gr.Row():
                check_button = gr.Button("检查", elem_id="check")
                repair_button = gr.Button("修改建议", elem_id="repair")
            report = gr.HTML(elem_id="report")
            check_button.click(handlers.check, [text, check_tune], report, api_name="check", time_limit=10,
                               preprocess=False)
            repair_button.click(handlers.repair, [text, check_tune], report, api_name="repair", time_limit=30,
                                preprocess=False)
        with gr.Tab("按编号重写"):
            poem_id = gr.Textbox(label="编号", max_length=MAX_ID)
            again = gr.Button("重写", elem_id="regenerate")
            again_out = gr.HTML()
            again.click(handlers.regenerate, poem_id, again_out, api_name="regenerate", time_limit=60,
                        preprocess=False)
        with gr.Tab("模型"):
            model_tab(poet.model_dir)
        # A poem's own address: ?id=… opens the page on it.
        app.load(handlers.open_link, None, shown, api_visibility="private", time_limit=60, preprocess=False)
    # api_open=False: every event goes through the queue, with its limits (the direct routes
    # are refused outright by DirectRoutesRefused as well).
    app.queue(max_size=64, default_concurrency_limit=2, api_open=False)
    return app


def write_tab(handlers: Handlers) -> list[gr.components.Component]:
    """The writing tab; returns where a poem is shown (its cards, its text, its id)."""
    with gr.Row():
        form = gr.Dropdown(FORM_CHOICES, value="七绝", label="诗体")
        tones = gr.Radio(TONE_CHOICES, value="strict", label="格律")
        cipai = gr.Dropdown([NO_TUNE, *handlers.tunes], value=NO_TUNE, label="词牌（选了即填词）",
                            elem_id="cipai")
        rhyme = gr.Dropdown(handlers.groups, value="自动", label="韵部（诗：平水韵；词：词林正韵）")
        script = gr.Radio(SCRIPT_CHOICES, value="simplified", label="字体")
        style = gr.Radio(STYLE_CHOICES, value="唐", label="风格（诗；词皆宋调）")
        vertical = gr.Checkbox(False, label="竖排（由上而下，自右而左）", elem_id="vertical")
    with gr.Row():
        start = gr.Textbox("", label="起句（续写）", max_length=MAX_TEXT, placeholder="如：明月")
        acrostic = gr.Textbox("", label="藏头", max_length=MAX_LINES, placeholder="如：春夏秋冬（每句一字）")
        theme = gr.Textbox("", label="主题", max_length=MAX_TEXT, placeholder="如：思念故乡")
    with gr.Accordion("采样", open=False):
        with gr.Row():
            temperature = gr.Slider(0, 2, value=0.8, step=0.05, label="温度（0 为贪心）")
            top_k = gr.Slider(0, 200, value=0, step=1, label="top-k（0 不限）")
            top_p = gr.Slider(0.05, 1, value=1.0, step=0.05, label="top-p")
            n = gr.Slider(1, MAX_WEB_POEMS, value=3, step=1, label="首数")
            seed = gr.Number(value=1, precision=0, label="种子")
    button = gr.Button("写诗", variant="primary", elem_id="write")
    poems = gr.HTML(elem_id="poems")
    # Toggles run in the browser only: no server event for anyone to call with forged values.
    vertical.change(None, vertical, None, js="(on) => { document.getElementById('poems')"
                    ".classList.toggle('vertical', on); }")
    with gr.Row():
        picture_button = gr.Button("存为图片（第一首）", size="sm", elem_id="picture", scale=0)
    picture = gr.Image(label="诗卡（PNG）", type="pil", format="png", interactive=False, buttons=["download"],
                       elem_id="picture-card", height=480)
    plain = gr.Textbox(label="全文（可复制）", lines=4, interactive=False, buttons=["copy"], elem_id="plain")
    inputs = [form, start, acrostic, theme, rhyme, tones, temperature, top_k, top_p, n, seed, script, style, cipai]
    # Choosing a tune is asking for a ci, and choosing a shi form lets go of the tune.
    cipai.change(None, [cipai, form], form,
                 js=f"(tune, now) => tune !== {json.dumps(NO_TUNE)} ? '词' : (now === '词' ? '七绝' : now)")
    form.change(None, [form, cipai], cipai, js=f"(now, tune) => now === '词' ? tune : {json.dumps(NO_TUNE)}")
    examples = gr.Dataset(components=inputs, samples=EXAMPLES, type="index", label="示例")
    examples.click(None, examples, inputs, js=f"(i) => {json.dumps(EXAMPLES, ensure_ascii=False)}[i]")
    with gr.Accordion("换字：某一字的候选，选一个重写后文", open=True):
        with gr.Row():
            alt_id = gr.Textbox(label="编号（默认第一首）", max_length=MAX_ID, elem_id="alt-id")
            alt_line = gr.Number(value=2, precision=0, minimum=1, maximum=MAX_LINES, label="第几句")
            alt_pos = gr.Number(value=3, precision=0, minimum=1, maximum=MAX_LINE_CHARS, label="第几字")
        alt_button = gr.Button("看候选", elem_id="alternatives")
        alt_json = gr.JSON(label="候选与概率", visible=False)
        alt_choice = gr.Radio([], label="候选字（模型概率）", elem_id="alt-choices")
        pick = gr.Button("用此字重写后文", elem_id="rewrite")
        rewritten = gr.HTML(elem_id="rewritten")
    # Many at once: concurrent requests are merged into one batched decoding pass.
    # preprocess=False: the handlers get the raw values and check them all themselves.
    button.click(handlers.write, inputs, [poems, plain, alt_id], api_name="write", concurrency_limit=16,
                 time_limit=60, preprocess=False)
    picture_button.click(handlers.picture, alt_id, picture, api_visibility="private", time_limit=30,
                         preprocess=False)
    alt_button.click(handlers.alternatives, [alt_id, alt_line, alt_pos], [alt_json, alt_choice],
                     api_name="alternatives", time_limit=30, preprocess=False)
    pick.click(handlers.rewrite, [alt_id, alt_line, alt_pos, alt_choice], [rewritten, plain, alt_id],
               api_visibility="private", time_limit=30, preprocess=False)
    return [poems, plain, alt_id]


def model_tab(model_dir: Path | None) -> None:
    card = (model_dir / "README.md") if model_dir else None
    loss_png = (model_dir / "loss.png") if model_dir else None
    if card is not None and card.is_file():
        gr.Markdown(card.read_text(encoding="utf-8").replace("![loss curve](loss.png)", ""))
    if loss_png is not None and loss_png.is_file():
        gr.Image(str(loss_png), label="损失曲线", interactive=False)


class DirectRoutesRefused:
    """ASGI middleware: Gradio's direct routes (`/gradio_api/run/…`, `/gradio_api/api/…`) would
    run an event outside the queue, past its limits and concurrency; the page never uses them
    (its toggles run in the browser), so they answer 404 with a message in Chinese. A queue call
    must name an event with a server function (`served`): the browser-only toggles have none,
    and an unknown index would otherwise be a 500."""

    PREFIXES = ("/gradio_api/run/", "/gradio_api/api/", "/run/", "/api/")
    QUEUE_ONLY = "请通过页面或 gradio_client 调用（走队列）"
    JOIN = "/gradio_api/queue/join"
    MAX_BODY = 1 << 20

    def __init__(self, app, served: frozenset[int] = frozenset()):
        self.app, self.served = app, served

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if scope["path"].startswith(self.PREFIXES):
            return await self.refuse(send, f"direct route {scope['path'][:80]}", self.QUEUE_ONLY)
        if scope["path"] == self.JOIN and scope["method"] == "POST":
            body, more = b"", True
            while more and len(body) <= self.MAX_BODY:
                message = await receive()
                body, more = body + message.get("body", b""), message.get("more_body", False)
            if len(body) > self.MAX_BODY:
                return await self.refuse(send, "queue call too large", "请求太大", 413)
            fn_index = _fn_index(body)
            if fn_index is not None and fn_index not in self.served:
                return await self.refuse(send, f"queue call of event {fn_index!r}", "没有这个操作")
            receive = _replay(body, receive)
        await self.app(scope, receive, send)

    @staticmethod
    async def refuse(send, what: str, message: str, status: int = 404) -> None:
        log.warning("rejected request: %s", what)
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json; charset=utf-8")]})
        await send({"type": "http.response.body", "body": json.dumps({"error": message}, ensure_ascii=False).encode()})


def _fn_index(body: bytes):
    """The event a queue call names; None where the body is not a JSON object with one (Gradio
    refuses those itself, with a 422)."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return data.get("fn_index") if isinstance(data, dict) else None


def _replay(body: bytes, receive):
    """The request's body, read once already, handed to the app as if it arrived now."""
    sent = False

    async def again():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return again


def launch(poet: Poet | LoadingPoet, host: str = "127.0.0.1", port: int | None = None, **kwargs) -> gr.Blocks:
    from starlette.middleware import Middleware

    app = build_app(poet)
    served = frozenset(i for i, fn in app.fns.items() if fn.fn is not None)
    repo = Path(__file__).resolve().parent.parent
    blocked = [str(repo / "models"), str(repo / "corpus"), str(repo / "poetgen"), str(repo / "app.py")]
    allowed = [str(poet.model_dir / "loss.png")] if poet.model_dir else []
    app.launch(server_name=host, server_port=port, share=False, blocked_paths=blocked, allowed_paths=allowed,
               max_file_size="1mb", footer_links=[], css=CSS,
               app_kwargs={"middleware": [Middleware(DirectRoutesRefused, served=served)]}, **kwargs)
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="poetgen serve", description="the poetgen web page")
    parser.add_argument("--model", help="model directory (default: the shipped model)")
    # Flags first, then poetgen's variable, then Gradio's own (GRADIO_SERVER_PORT/NAME).
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME") or "127.0.0.1")
    parser.add_argument("--port", type=int, default=None)
    args = parser.parse_args(argv)
    if args.port is None:
        port = os.environ.get("POETGEN_PORT") or os.environ.get("GRADIO_SERVER_PORT") or "7860"
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise SystemExit(f"poetgen: error: the port must be a number from 1 to 65535, got {port!r}")
        args.port = int(port)
    try:
        poet = LoadingPoet(args.model)
    except PoetgenError as e:
        raise SystemExit(f"poetgen: error: {e}") from None
    launch(poet, args.host, args.port)
