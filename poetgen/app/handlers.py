"""What the page's buttons call, with the raw values Gradio hands over: each checks
its inputs itself (validation.py: Gradio enforces no lengths, steps or finiteness for raw
HTTP callers) and speaks to the Poet, or to a LoadingPoet while the model loads."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import gradio as gr

from ..defaults import MAX_CHECK_TEXT, MAX_SEED, model_directory
from ..native_log import quiet_native_stderr
from ..text.forms import FORMS
from ..verse.pingshui import rhyme_table
from ..verse.tunes import find
from ..writing.ids import MAX_ID, decode_id
from ..writing.params import SEARCH_WIDTH, WriteParams
from .render import render_alternatives, render_draft, render_poems, render_repair, render_report
from .validation import checked_choice, checked_flag, checked_number, checked_text, page_errors, refuse

if TYPE_CHECKING:
    from ..api import Poet


FORM_CHOICES = ["自由", *FORMS, "词"]
NO_TUNE = "（选词牌）"
AUTO_TUNE = "自动识别"
TONE_CHOICES = [("严格格律", "strict"), ("只押韵", "rhyme"), ("不限", "off")]
SCRIPT_CHOICES = [("简体", "simplified"), ("繁體", "traditional")]
STYLE_CHOICES = [("唐风", "唐"), ("宋调", "宋")]
DRAFTS = {8: "八", 16: "十六"}[SEARCH_WIDTH]  # the candidates a poem, in words (a new width needs its words here)
SEARCH_CHOICES = [(f"{DRAFTS}稿择优", "best"), ("逐句择优", "lines"), ("一稿", "off")]  # writing.params.SEARCHES
MAX_WEB_POEMS = 16
MAX_WEB_TEMPERATURE, MAX_WEB_TOP_K = 2.0, 1000
STREAM_CHUNK = 16  # tokens per draft: about a couplet of a 七言 poem
WRITE_SECONDS = 30  # a generator's own deadline: Gradio's time_limit does not stop one mid-stream
MAX_LINES, MAX_LINE_CHARS = 30, 12  # of any form or tune: the 换字 place's bounds


class LoadingPoet:
    """Stands in for the Poet while TensorFlow, the model and the decoding loops load in the
    background, so the page answers within seconds of start; a request that comes early waits."""

    def __init__(self, model_dir: str | Path | None):
        self.model_dir = model_directory(model_dir)
        self.table = rhyme_table()
        self._ready = threading.Event()
        self.warm = threading.Event()  # set once the decoding loops are compiled (or loading failed)
        self._poet: Poet | None = None
        self._error: Exception | None = None
        threading.Thread(target=self._load, daemon=True, name="poet-loader").start()

    def _load(self) -> None:
        try:
            with quiet_native_stderr():  # TensorFlow's start-up lines, unless TF_CPP_MIN_LOG_LEVEL=0
                from ..api import Poet

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
        from ..verse.check import check_text

        return check_text(text, self.table, cipai)

    def __getattr__(self, name: str):
        if not self._ready.wait(timeout=120):
            raise refuse("模型仍在加载，请稍候再试")
        if self._error is not None:
            raise refuse(f"模型无法加载：{getattr(self._error, 'chinese', self._error)}")
        return getattr(self._poet, name)


class Handlers:
    """What the page's buttons call, with the raw values Gradio hands over: each checks its
    inputs itself and speaks to the Poet. Plain methods, so tests call them without a server."""

    def __init__(self, poet: Poet | LoadingPoet):
        from ..verse.ci_rhymes import N_BU, NAMES
        from ..verse.tunes import load

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
        checked_text(value, "词牌", 40)
        with page_errors():
            name = find(value).name
        if name not in self.tunes:
            raise refuse("这个词牌不在网页的词牌表里")
        return name

    def rhyme_of(self, rhyme, form: str) -> str | None:
        rhyme = checked_choice(rhyme, "韵部", self.groups)
        if rhyme == "自动":
            return None
        if (rhyme in self.ci_groups) != (form == "词"):
            raise refuse("词用词林正韵的部（第一部…第十九部），诗用平水韵（東、陽…）")
        return rhyme

    def write_kwargs(self, form, start, acrostic, theme, rhyme, tones, temperature, top_k, top_p, n, seed,
                     script, style, cipai=NO_TUNE, search="best", polish=False) -> dict:
        form = checked_choice(form, "诗体", FORM_CHOICES)
        tones = checked_choice(tones, "格律", TONE_CHOICES)
        cipai = self.tune(cipai, NO_TUNE)
        if form == "词" and cipai == NO_TUNE:
            raise refuse("写词请先选一个词牌")
        if form != "词" and cipai != NO_TUNE:  # the page's own controls never send this mix
            raise refuse(f"选了词牌{cipai}，诗体就应是“词”：写诗请把词牌设为{NO_TUNE}")
        kwargs = dict(
            form=None if form == "词" else "free" if form == "自由" else form,
            cipai=cipai if form == "词" else None,
            start=checked_text(start, "起句"), acrostic=checked_text(acrostic, "藏头", MAX_LINES),
            theme=checked_text(theme, "主题"),
            rhyme=self.rhyme_of(rhyme, form),
            tones=tones if form != "自由" or tones == "off" else "off",
            temperature=checked_number(temperature, "温度", 0, MAX_WEB_TEMPERATURE),
            top_k=checked_number(top_k, "top-k", 0, MAX_WEB_TOP_K, True),
            top_p=checked_number(top_p, "top-p", 0.01, 1), n=checked_number(n, "首数", 1, MAX_WEB_POEMS, True),
            seed=checked_number(seed, "种子", 0, MAX_SEED, True), script=checked_choice(script, "字体", SCRIPT_CHOICES),
            style=checked_choice(style, "风格", STYLE_CHOICES), search=checked_choice(search, "写法", SEARCH_CHOICES),
            polish=checked_flag(polish, "润色"),
        )
        if kwargs["tones"] == "off":
            kwargs["rhyme"] = None
        return kwargs

    def write(self, form, start, acrostic, theme, rhyme, tones, temperature, top_k, top_p, n, seed, script,
              style="唐", cipai=NO_TUNE, search="best", polish=False):
        kwargs = self.write_kwargs(form, start, acrostic, theme, rhyme, tones, temperature, top_k, top_p, n,
                                   seed, script, style, cipai, search, polish)
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
        poem_id = checked_text(value, "编号", MAX_ID)
        if not poem_id:
            raise refuse("先写一首诗，或填入诗的编号")
        with page_errors():
            params, _, index = decode_id(poem_id, self.poet.model_hash)
        # A line-searched id counts poems; any other, the candidates of the best-of-8 search.
        places = MAX_WEB_POEMS if params.search == "lines" else MAX_WEB_POEMS * SEARCH_WIDTH
        if index >= places or params.temperature > MAX_WEB_TEMPERATURE \
                or params.top_k > MAX_WEB_TOP_K or params.max_tokens > WriteParams().max_tokens:
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
        return gr.Image(value=Image.open(io.BytesIO(png)), visible=True)

    def check(self, text, cipai=AUTO_TUNE):
        text = checked_text(text, "诗", MAX_CHECK_TEXT)
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
        text = checked_text(text, "诗", MAX_CHECK_TEXT)
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
        return (checked_number(line, "句", 1, MAX_LINES, True) - 1,
                checked_number(position, "字", 1, MAX_LINE_CHARS, True) - 1)

    def alternatives(self, poem_id, line, position):
        poem_id = self.poem_id(poem_id)
        with page_errors():
            choices = self.poet.alternatives(poem_id, *self.place(line, position))
        labels = render_alternatives(choices)
        return ([{"char": ch, "probability": round(p, 5)} for ch, p in choices],
                gr.Radio(choices=labels, value=labels[0] if labels else None))

    def rewrite(self, poem_id, line, position, choice):
        poem_id = self.poem_id(poem_id)
        choice = checked_text(choice, "候选字", 20)
        if not choice:
            raise refuse("先选一个候选字")
        with page_errors():
            poem = self.poet.rewrite(poem_id, *self.place(line, position), choice.split()[0])
        return render_poems([poem]), poem.text, poem.id
