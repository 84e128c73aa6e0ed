"""A write request checked and turned into what the decoder is asked for (`Request`): form,
fixed characters, rhyme, tones, theme keywords, style. No TensorFlow here: a bad request is
refused before any model work."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..defaults import MAX_FREE_TOKENS, MAX_TEMPERATURE, MAX_TEXT
from ..errors import GenerationError
from ..model.tokenizer import FORM_TOKENS, Tokenizer
from ..text.forms import CI, FORMS, SHAPE_OF_FORM, SONG, SONGCI, TANG
from ..text.script import SCRIPTS, Script
from ..text.user_text import readable
from ..verse.ci_rhymes import bu_index
from ..verse.pingshui import RhymeTable
from .params import FREE, SEARCHES, TONE_LEVELS, Sampling, WriteParams

ACROSTIC_FORMS = {4: "七绝", 8: "七律"}
STYLES = {"唐": TANG, "唐诗": TANG, "tang": TANG, "宋": SONG, "宋诗": SONG, "song": SONG}


@dataclass(frozen=True)
class Request:
    form: str = FREE
    start: tuple[int, ...] = ()  # token ids
    heads: tuple[int, ...] = ()  # 藏头: one character id per line
    tails: tuple[int, ...] = ()  # 藏尾
    rhyme: int | None = None  # a 平 group index (a 词林正韵 部 for a ci), or None to let the model choose
    tones: str = "off"
    pattern: str | None = None  # e.g. 仄起首句不入韵; None: automatic per poem
    no_copy: bool = False
    max_repeat: int = 0
    rhyme_as_read: bool = False  # RhymeReading beside Rhyme
    max_len: int = 120
    opening: int | None = None  # free form: the form token to open with (else the model's choice)
    collection: str = TANG  # the manner to write in, for a model that knows collections
    cipai: str | None = None  # the tune of a ci (form 词)


@dataclass(frozen=True)
class Prepared:
    """A checked request: what to decode, how to sample, and what to say of the poems."""

    request: Request
    sampling: Sampling
    keywords: list[str]
    script: str


def check_sampling(temperature, top_k, top_p) -> None:
    import math

    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not math.isfinite(
            temperature) or not 0 <= temperature <= MAX_TEMPERATURE:
        raise GenerationError("temperature", high=f"{MAX_TEMPERATURE:g}", value=temperature)
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 0:
        raise GenerationError("top_k", value=top_k)
    if isinstance(top_p, bool) or not isinstance(top_p, (int, float)) or not math.isfinite(top_p) or not 0 < top_p <= 1:
        raise GenerationError("top_p", value=top_p)


def whole(value, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise GenerationError("whole_range", what=name, low=low, high=high, value=value)
    return value


class RequestMaker:
    """Checks WriteParams against a model's vocabulary and turns them into a Prepared request."""

    def __init__(self, tokenizer: Tokenizer, table: RhymeTable, script: Script, has_corpus: bool):
        self.tokenizer, self.table, self.script, self.has_corpus = tokenizer, table, script, has_corpus

    def ids(self, text, what: str, punctuation: bool) -> list[int]:
        """Token ids of user text (either script), or an error naming what the model lacks."""
        if not isinstance(text, str):
            raise GenerationError("not_text", what=what, kind=type(text).__name__)
        if len(text) > MAX_TEXT:
            raise GenerationError("too_long", what=what, length=len(text), limit=MAX_TEXT)
        text = re.sub(r"\s+", "", readable(text, what)).replace(",", "，").replace(".", "。")
        if not punctuation:
            text = re.sub("[，。、；：！？]", "", text)
        text = self.script.to_model(text)
        missing = self.tokenizer.missing(text)
        if missing:
            raise GenerationError("unknown_chars", what=what, chars="".join(missing[:8]))
        return [self.tokenizer.index[ch] for ch in text]

    def collection(self, style) -> str:
        if style not in STYLES:
            raise GenerationError("style", value=style)
        collection = STYLES[style]
        if collection != TANG and not self.tokenizer.conditioned:
            raise GenerationError("tang_only", value=style)
        return collection

    @cached_property
    def _jieba(self):
        import jieba
        import jieba.analyse

        jieba.setLogLevel(logging.WARNING)
        jieba.initialize()
        return jieba.analyse

    def theme_keywords(self, theme: str) -> list[str]:
        """jieba keywords of the theme, in the model's script, that the model can write."""
        if not isinstance(theme, str):
            raise GenerationError("not_text", what="theme", kind=type(theme).__name__)
        if len(theme) > MAX_TEXT:
            raise GenerationError("too_long", what="theme", length=len(theme), limit=MAX_TEXT)
        simplified = self.script.simplified(readable(theme, "theme"))
        words = self._jieba.extract_tags(simplified, topK=5) or re.findall(r"[\u4e00-\u9fff]", simplified)[:3]
        out = []
        for word in words:
            chars = "".join(ch for ch in self.script.to_model(word) if ch in self.tokenizer.index)
            if chars and chars not in out:
                out.append(chars)
        if not out:
            raise GenerationError("theme_unknown", value=theme)
        return out

    @staticmethod
    def cipai_of(p: WriteParams) -> str | None:
        """The tune asked for, by its name in the 词谱 (None: not a ci)."""
        if p.cipai in (None, ""):
            if p.form == CI:
                raise GenerationError("ci_needs_tune")
            return None
        if p.form not in (None, "", CI):
            raise GenerationError("form_and_tune", form=p.form, cipai=p.cipai)
        if p.opening is not None:
            raise GenerationError("ci_opening")
        from ..verse.tunes import find

        return find(p.cipai).name

    def rhyme_of(self, p: WriteParams, tones: str, ci: bool) -> int | None:
        """The rhyme asked for: a 平水韵 平 group, or for a ci a 词林正韵 部."""
        if not p.rhyme:
            return None
        if tones == "off":
            raise GenerationError("rhyme_needs_tones")
        return bu_index(p.rhyme) if ci else self.table.group_index(p.rhyme)

    def form_of(self, p: WriteParams, heads: list, tails: list, start: list[int], seed: int) -> str:
        """The form asked for; with none, the acrostic's (4 lines: 七绝, 8: 七律), else a
        regulated form that the start text fits, chosen by the seed. Free form only when asked."""
        if p.is_free:
            if heads or tails:
                raise GenerationError("acrostic_form")
            return FREE
        if p.form not in (None, ""):
            if p.form not in FORMS:
                raise GenerationError("form", value=p.form)
            return p.form
        if heads or tails:
            form = ACROSTIC_FORMS.get(len(heads or tails))
            if form is None:
                raise GenerationError("acrostic_length", count=len(heads or tails))
            return form
        return self.form_for_start(start, seed)

    def form_for_start(self, start: list[int], seed: int) -> str:
        """A regulated form the start text fits: its first line's length where it has a mark
        (5 or 7; another length reads as free verse), and room for all its characters."""
        tok = self.tokenizer
        marks = [i for i, t in enumerate(start) if t in (tok.comma, tok.period)]
        chars = sum(1 for t in start if t >= tok.first_char)
        fitting = [f for f in FORMS if SHAPE_OF_FORM[f][0] * SHAPE_OF_FORM[f][1] >= chars]
        if marks:
            fitting = [f for f in fitting if SHAPE_OF_FORM[f][0] == marks[0]]
        if not fitting:
            return FREE
        return fitting[int(np.random.default_rng([seed, 7]).integers(len(fitting)))]

    def prepare(self, p: WriteParams, seed: int) -> Prepared:
        check_sampling(p.temperature, p.top_k, p.top_p)
        if p.script not in SCRIPTS:
            raise GenerationError("script", value=p.script)
        whole(p.max_tokens, "max_tokens", 8, MAX_FREE_TOKENS)
        whole(p.max_repeat, "max_repeat", 0, 56)
        heads = self.ids(p.acrostic or "", "acrostic", punctuation=False)
        tails = self.ids(p.tail or "", "tail", punctuation=False)
        start = self.ids(p.start or "", "start", punctuation=True)
        cipai = self.cipai_of(p)
        form = CI if cipai else self.form_of(p, heads, tails, start, seed)
        tones = p.tones if p.tones is not None else ("off" if form == FREE else "strict")
        if p.search not in SEARCHES:
            raise GenerationError("search", value=p.search)
        if tones not in TONE_LEVELS:
            raise GenerationError("tones", value=tones)
        if cipai and p.pattern:
            raise GenerationError("ci_pattern")
        rhyme = self.rhyme_of(p, tones, ci=cipai is not None)
        keywords = self.theme_keywords(p.theme) if p.theme else []
        if not isinstance(p.no_copy, bool):
            raise GenerationError("no_copy", value=p.no_copy)
        collection = self.collection(p.style)
        if cipai:  # a ci is written in the manner of the Song ci, whatever the style
            collection = SONGCI if self.tokenizer.conditioned else TANG
        if p.opening is not None and p.opening not in FORM_TOKENS:
            raise GenerationError("opening", choices=", ".join(FORM_TOKENS), value=p.opening)
        req = Request(form=form, start=tuple(start),
                      heads=tuple(heads), tails=tuple(tails), rhyme=rhyme, tones=tones,
                      pattern=p.pattern or None, no_copy=p.no_copy and self.has_corpus,
                      max_repeat=p.max_repeat, rhyme_as_read=p.rhyme_as_read, max_len=p.max_tokens,
                      opening=self.tokenizer.index[p.opening] if p.opening is not None else None,
                      collection=collection, cipai=cipai)
        sampling = Sampling(float(p.temperature), int(p.top_k), float(p.top_p), seed)
        return Prepared(req, sampling, keywords, p.script)
