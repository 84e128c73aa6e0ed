"""The Gradio page: a thin layer over the Poet API. Every input is validated on the server,
because Gradio does not enforce lengths, steps or finiteness for raw HTTP callers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import gradio as gr

from ..defaults import MAX_CHECK_TEXT, MAX_TEXT, REPO
from ..writing.ids import MAX_ID
from ..writing.params import WriteParams
from .guard import DirectRoutesRefused
from .handlers import (
    AUTO_TUNE,
    DRAFTS,
    FORM_CHOICES,
    MAX_LINE_CHARS,
    MAX_LINES,
    MAX_WEB_POEMS,
    NO_TUNE,
    SCRIPT_CHOICES,
    SEARCH_CHOICES,
    STYLE_CHOICES,
    TONE_CHOICES,
    Handlers,
    LoadingPoet,
)
from .render import CSS
from .validation import refuse

if TYPE_CHECKING:
    from ..api import Poet


W = WriteParams()
WT, WP, P = W.temperature, W.top_p, [W.search, W.polish]  # the defaults (P: the search, unpolished)
EXAMPLES = [  # the defaults' sampling, but for the last, which shows a freer hand; the 七律 polished
    ["七绝", "", "春夏秋冬", "", "自动", "strict", WT, 0, WP, 3, 1, "simplified", "唐", NO_TUNE, *P],
    ["五律", "明月", "", "", "自动", "strict", WT, 40, WP, 3, 7, "simplified", "唐", NO_TUNE, *P],
    ["七律", "", "", "思念故乡", "陽", "strict", WT, 0, WP, 2, 3, "simplified", "宋", NO_TUNE,
     W.search, True],
    ["词", "", "", "秋夜 思乡", "自动", "strict", WT, 0, WP, 2, 5, "simplified", "宋", "浣溪沙", *P],
    ["五绝", "", "", "江雪 孤舟", "自动", "rhyme", 0.8, 0, 1.0, 4, 11, "traditional", "唐", NO_TUNE, *P],
]


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
            temperature = gr.Slider(0, 2, value=W.temperature, step=0.05, label="温度（0 为贪心）")
            top_k = gr.Slider(0, 200, value=0, step=1, label="top-k（0 不限）")
            top_p = gr.Slider(0.05, 1, value=W.top_p, step=0.05, label="top-p")
            n = gr.Slider(1, MAX_WEB_POEMS, value=3, step=1, label="首数")
            seed = gr.Number(value=1, precision=0, label="种子")
        with gr.Row():
            search = gr.Radio(SEARCH_CHOICES, value=W.search,
                              label=f"写法（{DRAFTS}稿择优：每首写{DRAFTS}稿，取模型最认可的一稿）")
            polish = gr.Checkbox(W.polish, label="润色（写完再推敲最弱的几个字，可看初稿）", elem_id="polish")
    button = gr.Button("写诗", variant="primary", elem_id="write")
    poems = gr.HTML(elem_id="poems")
    # Toggles run in the browser only: no server event for anyone to call with forged values.
    vertical.change(None, vertical, None, js="(on) => { document.getElementById('poems')"
                    ".classList.toggle('vertical', on); }")
    with gr.Row():
        picture_button = gr.Button("存为图片（第一首）", size="sm", elem_id="picture", scale=0)
    picture = gr.Image(label="诗卡（PNG）", type="pil", format="png", interactive=False, buttons=["download"],
                       elem_id="picture-card", height=480, visible=False)  # shown with its first picture
    plain = gr.Textbox(label="全文（可复制）", lines=4, interactive=False, buttons=["copy"], elem_id="plain")
    inputs = [form, start, acrostic, theme, rhyme, tones, temperature, top_k, top_p, n, seed, script, style, cipai,
              search, polish]
    # Choosing a tune is asking for a ci, and choosing a shi form lets go of the tune.
    cipai.change(None, [cipai, form], form,
                 js=f"(tune, now) => tune !== {json.dumps(NO_TUNE)} ? '词' : (now === '词' ? '七绝' : now)")
    form.change(None, [form, cipai], cipai, js=f"(now, tune) => now === '词' ? tune : {json.dumps(NO_TUNE)}")
    examples = gr.Dataset(components=inputs, samples=EXAMPLES, type="index", label="示例")
    examples.click(None, examples, inputs, js=f"(i) => {json.dumps(EXAMPLES, ensure_ascii=False)}[i]")
    alt_id, alt_line, alt_pos, alt_button, alt_json, alt_choice, pick, rewritten = rewrite_panel()
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


def rewrite_panel() -> tuple[gr.components.Component, ...]:
    """换字's controls (wired by write_tab): the poem's id and the place, the button that asks for
    candidates, the candidates, the button that rewrites with the one picked, the poem rewritten."""
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
    return alt_id, alt_line, alt_pos, alt_button, alt_json, alt_choice, pick, rewritten


def model_tab(model_dir: Path | None) -> None:
    card = (model_dir / "README.md") if model_dir else None
    loss_png = (model_dir / "loss.png") if model_dir else None
    if card is not None and card.is_file():
        gr.Markdown(card.read_text(encoding="utf-8").replace("![loss curve](loss.png)", ""))
    if loss_png is not None and loss_png.is_file():
        gr.Image(str(loss_png), label="损失曲线", interactive=False)


def launch(poet: Poet | LoadingPoet, host: str = "127.0.0.1", port: int | None = None, **kwargs) -> gr.Blocks:
    from starlette.middleware import Middleware

    app = build_app(poet)
    served = frozenset(i for i, fn in app.fns.items() if fn.fn is not None)
    repo = REPO
    blocked = [str(repo / "models"), str(repo / "corpus"), str(repo / "poetgen"), str(repo / "app.py")]
    allowed = [str(poet.model_dir / "loss.png")] if poet.model_dir else []
    app.launch(server_name=host, server_port=port, share=False, blocked_paths=blocked, allowed_paths=allowed,
               max_file_size="1mb", footer_links=[], css=CSS,
               app_kwargs={"middleware": [Middleware(DirectRoutesRefused, served=served)]}, **kwargs)
    return app

