"""The page's HTML: poems as cards (rhymes marked, a fault in red, an id and a link),
drafts while writing, a check's report, a repair with its changes marked; and the
stylesheet."""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING

from ..verse.check import Report

if TYPE_CHECKING:
    from ..api import Poem
    from ..writing.repair import Repaired


CSS = """
.poem-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 24em), 1fr)); gap: 1em;
  margin: 0.6em 0; }
.poem-card { background: #fbf8f1; border: 1px solid #e7dcc4; border-radius: 10px; padding: 1.1em 1.4em;
  box-shadow: 0 1px 4px rgba(60, 40, 10, 0.07); min-width: 0; }
.poem { font-size: 1.75rem; line-height: 2; letter-spacing: 0.08em; color: #2a2520; margin: 0.2em 0 0.5em;
  font-family: "Noto Serif CJK SC", "Noto Serif SC", "Source Han Serif SC", "Songti SC", "STSong", "SimSun",
  "Noto Serif CJK TC", serif; }
.poem .bad { color: #c0392b; text-decoration: underline wavy; }
.poem .rhyme { color: #1f6fb2; font-weight: bold; }
.poem .heard { text-decoration: underline dotted #b7791f; text-underline-offset: 0.2em; }
.poem .changed { color: #1e7b34; background: #e4f4e4; border-radius: 3px; }
.poem .stanza { display: block; block-size: 0.9em; }
.meta { color: #7a7062; font-size: 0.85em; word-break: break-all; }
.poem-link { color: #7a7062; margin-left: 0.4em; }
.polishing { margin-top: 0.4em; } .polishing summary { cursor: pointer; }
.polishing .draft { font-size: 1.1rem; line-height: 1.8; color: #5d554a; margin-top: 0.3em; }
.copy-id { font-size: 0.85em; color: #7a7062; background: none; border: 1px solid #d8ccb2; border-radius: 4px;
  padding: 0 0.5em; margin-left: 0.4em; cursor: pointer; }
.vertical .poem { writing-mode: vertical-rl; text-orientation: upright; line-height: 1.8; max-height: 24em; }
.vertical .poem-grid { direction: rtl; }
.vertical .poem-card { direction: ltr; }
@media (max-width: 600px) { .poem { font-size: 1.45rem; letter-spacing: 0.05em; } .poem-card { padding: 0.8em; } }
"""


# ----------------------------------------------------------------------------- rendering

def marked_lines(lines: list[str], marks: list[str], report: dict, polished: list[dict] | None = None) -> str:
    """The lines of a poem, each with its mark: rhymes in the rhyme colour, a character off
    its pattern in red with the tone it should have on hover, a character polishing put in
    marked with the draft's on hover, a rhyme the poets read in another group (heard_apart) dotted."""
    bad = {tuple(v) for v in report.get("violations", [])}
    drafted = {}
    for change in polished or []:  # a place changed twice shows the draft's character
        drafted.setdefault((change["line"], change["position"]), change["from"])
    rhyme_lines = set(report.get("rhyme_lines", []))
    heard = set(report.get("heard_apart", []))
    expected = report.get("expected", [])
    out = []
    for i, (line, mark) in enumerate(zip(lines, marks)):
        cells = []
        for j, ch in enumerate(line):
            kinds, titles = [], []
            if (i, j) in bad:
                kinds.append("bad")
                titles.append("应为" + (expected[i][j] if i < len(expected) and j < len(expected[i]) else ""))
            elif j == len(line) - 1 and i in rhyme_lines:
                kinds.append("rhyme")
                if i in heard:
                    kinds.append("heard")
                    titles.append("多音字：诗人押此字多在他韵，读来或似出韵")
            if (i, j) in drafted:
                kinds.append("changed")
                titles.append(f"初稿为“{drafted[i, j]}”")
            title = f' title="{html.escape("；".join(titles))}"' if titles else ""
            cells.append(f'<span class="{" ".join(kinds)}"{title}>{html.escape(ch)}</span>' if kinds
                         else html.escape(ch))
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
    report = poem.report
    marks = [shown[-1:] for shown in poem.text.split("\n") if shown]
    verdict = html.escape(report.get("verdict", "") or poem.form)
    return (f'<div class="poem-card"><div class="poem">{marked_lines(poem.lines, marks, report, poem.polished)}</div>'
            f'<div class="meta" title="模型评分（每字平均对数概率）{poem.score:.3f}">{verdict}<br>'
            f'{copy_id(poem.id)}{copy_link(poem.id)}</div>{render_polishing(poem)}</div>')


def render_polishing(poem: Poem) -> str:
    """What polishing did, under the card: its changes and, on opening, the draft."""
    if not poem.draft:
        return ""
    if not poem.polished:
        return '<div class="meta polishing">已润色：初稿已是最好，未改一字</div>'
    changes = "；".join(f"第{c['line'] + 1}句第{c['position'] + 1}字 {html.escape(c['from'])}→{html.escape(c['to'])}"
                       for c in poem.polished)
    draft = "<br>".join(html.escape(line) for line in poem.draft.split("\n") if line)
    return (f'<details class="meta polishing"><summary>润色 {len(poem.polished)} 处：{changes}</summary>'
            f'<div class="draft">初稿：<br>{draft}</div></details>')


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
