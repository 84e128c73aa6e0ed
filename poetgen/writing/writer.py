"""Writing: a checked request becomes a plan, the plan is decoded (merged with other requests
where possible), the tokens become poems with their 格律 report and id."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field

import numpy as np

from ..text.forms import FORMS, split_lines
from ..text.script import Script
from ..verse.check import check, check_ci
from ..verse.tunes import find
from .ids import decode_id, make_id
from .merging import MergingDecoder
from .params import FREE, SEARCH_WIDTH, WriteParams
from .plan import Plan
from .planning import plan_request
from .request import Prepared, RequestMaker
from .search import Search
from .theme_bias import ThemeBias
from .vocabulary import Vocabulary


@dataclass
class Poem:
    text: str  # one line (句) per text line, each ending in its punctuation
    lines: list[str]  # the lines without punctuation
    form: str
    score: float  # mean log-probability per character under the model
    id: str = ""  # rebuilds this poem exactly with Poet.regenerate(id)
    check: dict = field(default_factory=dict)  # the 格律 report (prosody.Report)
    keywords: list[str] = field(default_factory=list)  # theme keywords used
    cipai: str = ""  # the tune of a ci (form 词)

    def to_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        return self.text


class Writer:
    def __init__(self, vocab: Vocabulary, requests: RequestMaker, theme: ThemeBias, merging: MergingDecoder,
                 script: Script, model_hash: str, search: Search):
        self.vocab, self.requests, self.theme, self.merging, self.search = vocab, requests, theme, merging, search
        self.tokenizer, self.table, self.script, self.model_hash = vocab.tokenizer, vocab.table, script, model_hash

    def plan(self, params: WriteParams, count: int, seed: int) -> tuple[Prepared, Plan]:
        prepared = self.requests.prepare(params, seed)
        bias = np.tile(self.theme(prepared.keywords), (count, 1)) if prepared.keywords else None
        return prepared, plan_request(self.vocab, prepared.request, count, seed, bias)

    def generate(self, params: WriteParams, count: int, seed: int) -> tuple[list[Poem], np.ndarray]:
        prepared, plan = self.plan(params, count, seed)
        tokens, logprobs, _ = self.merging.decode(plan, prepared.sampling)
        return self.poems(params, seed, prepared, tokens, logprobs), tokens

    def write(self, params: WriteParams, count: int, seed: int) -> list[Poem]:
        if params.search == "off":
            return self.generate(params, count, seed)[0]
        poems, tokens = self.generate(params.with_(search="off"), count * SEARCH_WIDTH, seed)
        return [poems[k] for k in self.search.best(tokens, SEARCH_WIDTH)]

    def regenerate(self, poem_id: str) -> Poem:
        params, seed, index = decode_id(poem_id, self.model_hash)
        return self.write(params, index + 1, seed)[index]

    def stream(self, params: WriteParams, n: int, seed: int, chunk: int) -> Iterator[tuple[list[str], list | None]]:
        """Decoded `chunk` tokens at a time: (each poem's text so far, None) while writing, then
        (the texts, the finished poems), the same poems as one pass gives. With search, the
        drafts shown are each poem's first candidate; the poems, the candidates kept."""
        width = 1 if params.search == "off" else SEARCH_WIDTH
        params = params.with_(search="off")
        prepared, plan = self.plan(params, n * width, seed)
        length = plan.forced.shape[1]
        state, tokens, logprobs = None, [], []
        for stop in [*range(chunk, length, chunk), length]:
            piece, lp, state = self.merging.decode(plan, prepared.sampling, state, stop)
            tokens.append(piece)
            logprobs.append(lp)
            so_far = np.concatenate(tokens, axis=1)
            if state["done"].all() or stop >= length:
                break
            yield [self.script.display(self.tokenizer.decode(row), prepared.script) for row in so_far[::width]], None
        pad = length - so_far.shape[1]
        tokens = np.pad(so_far, ((0, 0), (0, pad)), constant_values=self.tokenizer.pad)
        logprobs = np.pad(np.concatenate(logprobs, axis=1), ((0, 0), (0, pad)))
        poems = self.poems(params, seed, prepared, tokens, logprobs)
        if width > 1:
            poems = [poems[k] for k in self.search.best(tokens, width)]
        yield [p.text for p in poems], poems

    def poems(self, params: WriteParams, seed: int, prepared: Prepared, tokens: np.ndarray,
              logprobs: np.ndarray) -> list[Poem]:
        poems = []
        for i, (row, lp) in enumerate(zip(tokens, logprobs)):
            poem = self.poem(row, lp, prepared.request.form, prepared.script, prepared.request.cipai)
            poem.keywords = prepared.keywords
            poem.id = make_id(self.model_hash, params, seed, i)
            poems.append(poem)
        return poems

    def poem(self, tokens: np.ndarray, logprobs: np.ndarray, form: str, script: str,
             cipai: str | None = None) -> Poem:
        tok = self.tokenizer
        is_char = tokens >= tok.first_char
        score = float(logprobs[is_char].mean()) if is_char.any() else float("-inf")
        body = tok.decode(tokens)
        if tok.eos not in tokens:  # cut at the length cap: keep the complete couplets
            cut = body.rfind("。") + 1
            body = body[:cut] if cut else body.rstrip("，") + "。"
        if cipai:
            report = check_ci(split_lines(body), find(cipai), self.table).to_dict()
        else:
            report = check(body, self.table).to_dict()
        if form == FREE:  # name what was written, not the form token the model opened with
            form = report["form"] if report["form"] in FORMS else "其他"
        body = self.script.display(body, script)
        lines = split_lines(body)
        shown = re.findall(r"[^，。]+[，。]", body)
        if report.get("stanza"):  # a ci's two stanzas, a blank line between
            shown.insert(report["stanza"], "")
        return Poem(text="\n".join(shown), lines=lines, form=form, score=round(score, 4), check=report,
                    cipai=cipai or "")
