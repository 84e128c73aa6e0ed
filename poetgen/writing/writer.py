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
from .ids import decode_id, id_hash, make_id
from .line_search import LineSearch
from .merging import MergingDecoder
from .params import FREE, SEARCH_WIDTH, WriteParams
from .plan import Plan
from .planning import plan_request
from .polish import Polisher
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
    report: dict = field(default_factory=dict)  # the 格律 check's report (verse.check.Report.to_dict)
    keywords: list[str] = field(default_factory=list)  # theme keywords used
    cipai: str = ""  # the tune of a ci (form 词)
    draft: str = ""  # the text before polishing, when the poem was polished
    polished: list[dict] = field(default_factory=list)  # polishing's changes: {line, position, from, to}

    def to_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        return self.text


class Writer:
    def __init__(self, vocab: Vocabulary, requests: RequestMaker, theme: ThemeBias, merging: MergingDecoder,
                 script: Script, model_hash: str, search: Search, polisher: Polisher, lines: LineSearch,
                 both_hash: str | None = None):
        self.vocab, self.requests, self.theme, self.merging, self.search = vocab, requests, theme, merging, search
        self.tokenizer, self.table, self.script, self.model_hash = vocab.tokenizer, vocab.table, script, model_hash
        self.lines, self.polisher = lines, polisher
        self.both_hash = both_hash or model_hash  # the forward and backward models' (ids.id_hash)

    def plan(self, params: WriteParams, count: int, seed: int) -> tuple[Prepared, Plan]:
        prepared = self.requests.prepare(params, seed)
        bias = np.tile(self.theme(prepared.keywords), (count, 1)) if prepared.keywords else None
        return prepared, plan_request(self.vocab, prepared.request, count, seed, bias)

    def write(self, params: WriteParams, count: int, seed: int) -> list[Poem]:
        poems, tokens, prepared = self.drafts(params, count, seed)
        return [self.polished(poem, row, params, prepared)[0] for poem, row in zip(poems, tokens)]

    def drafts(self, params: WriteParams, count: int, seed: int) -> tuple[list[Poem], np.ndarray, Prepared]:
        """The poems as searched, before any polishing, with their tokens."""
        if params.search == "lines":
            prepared, plan = self.plan(params, count, seed)
            *_, (tokens, logprobs) = self.lines.rows(plan, prepared.sampling, count)
            return *self.lines_kept(params, seed, prepared, tokens, logprobs), prepared
        width = SEARCH_WIDTH if params.search == "best" else 1
        prepared, plan = self.plan(params, count * width, seed)
        tokens, logprobs, _ = self.merging.decode(plan, prepared.sampling)
        poems = self.poems(params.with_(search="off"), seed, prepared, tokens, logprobs)
        kept = self.search.best(tokens, width) if width > 1 else list(range(count))
        return [poems[k] for k in kept], tokens[kept], prepared

    def lines_kept(self, params: WriteParams, seed: int, prepared: Prepared, tokens: np.ndarray,
                   logprobs: np.ndarray) -> tuple[list[Poem], np.ndarray]:
        """A line search's finished candidates -> each poem's kept one and its tokens; its id
        counts poems, not candidates."""
        kept = self.lines.search.best(tokens, self.lines.width)
        return self.poems(params, seed, prepared, tokens[kept], logprobs[kept]), tokens[kept]

    def polished(self, poem: Poem, row: np.ndarray, params: WriteParams,
                 prepared: Prepared) -> tuple[Poem, np.ndarray]:
        """The poem and its tokens, polished (polish.py) if its request asks for it, with its
        draft kept beside it."""
        if not params.polish:
            return poem, row
        fixed = self.fixed_places(poem, params, prepared)
        request = prepared.request
        remake = lambda new: self.remade(new, poem, request.form, prepared.script, request.cipai)  # noqa: E731
        polished, new_row, changes = self.polisher.polish(poem, row, fixed, request.tones, remake,
                                                          request.rhyme_as_read)
        polished.draft, polished.polished = poem.text, [c.to_dict() for c in changes]
        return polished, new_row

    def fixed_places(self, poem: Poem, params: WriteParams, prepared: Prepared) -> set[int]:
        """The places (indices among the poem's characters) that its request fixed: the start
        text, the acrostic and tail characters, the theme's keywords."""
        fixed = set(range(len(self.requests.ids(params.start or "", "start", False))))
        keywords = {self.script.display(k, prepared.script) for k in prepared.keywords}
        index = 0
        for line in poem.lines:
            for position, char in enumerate(line):
                if (params.acrostic and position == 0) or (params.tail and position == len(line) - 1) \
                        or any(char in k for k in keywords):
                    fixed.add(index)
                index += 1
        return fixed

    def remade(self, tokens: np.ndarray, like: Poem, form: str, script: str, cipai: str | None) -> Poem:
        """A poem of changed tokens, its score measured again by the forward model."""
        logprobs = np.zeros(len(tokens), np.float32)
        is_char = tokens >= self.tokenizer.first_char
        forward = self.search.scorer.char_logprobs([self.tokenizer.decode(tokens)],
                                                   list(self.search.opening(tokens)))[0][0]
        logprobs[is_char] = forward[:int(is_char.sum())]
        poem = self.poem(tokens, logprobs, form, script, cipai)
        poem.keywords, poem.id = like.keywords, like.id
        return poem

    def regenerate(self, poem_id: str) -> Poem:
        params, seed, index = decode_id(poem_id, self.model_hash, self.both_hash)
        poems, tokens, prepared = self.drafts(params, index + 1, seed)
        return self.polished(poems[index], tokens[index], params, prepared)[0]

    def stream(self, params: WriteParams, n: int, seed: int, chunk: int) -> Iterator[tuple[list[str], list | None]]:
        """Decoded `chunk` tokens at a time (a line at a time with the line search): (each
        poem's text so far, None) while writing, then (the texts, the finished poems), the same
        poems as one pass gives. With search, the drafts shown are each poem's first candidate
        (its best so far, line by line); the poems, the candidates kept."""
        if params.search == "lines":
            prepared, plan = self.plan(params, n, seed)
            for step in self.lines.rows(plan, prepared.sampling, n):
                tokens, logprobs = step
                if tokens.shape[1] < plan.forced.shape[1]:
                    yield [self.script.display(self.tokenizer.decode(row), prepared.script)
                           for row in tokens[::self.lines.width]], None
            poems, tokens = self.lines_kept(params, seed, prepared, tokens, logprobs)
        else:
            poems, tokens, prepared = yield from self.stream_samples(params, n, seed, chunk)
        poems = [self.polished(poem, row, params, prepared)[0] for poem, row in zip(poems, tokens)]
        yield [p.text for p in poems], poems

    def stream_samples(self, params: WriteParams, n: int, seed: int, chunk: int):
        """stream() of one sample or the best of several: yields the drafts, returns (the poems
        kept, the rows they were kept from, the prepared request)."""
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
        kept = self.search.best(tokens, width) if width > 1 else list(range(n))
        return [poems[k] for k in kept], tokens[kept], prepared

    def poems(self, params: WriteParams, seed: int, prepared: Prepared, tokens: np.ndarray,
              logprobs: np.ndarray) -> list[Poem]:
        poems = []
        for i, (row, lp) in enumerate(zip(tokens, logprobs)):
            poem = self.poem(row, lp, prepared.request.form, prepared.script, prepared.request.cipai)
            poem.keywords = prepared.keywords
            poem.id = make_id(id_hash(params, self.model_hash, self.both_hash), params, seed, i)
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
        return Poem(text="\n".join(shown), lines=lines, form=form, score=round(score, 4), report=report,
                    cipai=cipai or "")
