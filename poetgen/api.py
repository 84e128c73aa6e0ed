"""The Python API: `Poet.load()` then `poet.write(...)`, `poet.check(text)`,
`poet.regenerate(id)`. The CLI and the web page are thin layers over it."""

from __future__ import annotations

import base64
import binascii
import hashlib
import inspect
import json
import logging
import re
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import tensorflow as tf

from .constraints import ACROSTIC_FORMS, FREE, TONE_LEVELS, Request, Vocabulary, free_lead, plan_request
from .corpus import FORMS, SONG, TANG, read_split_text, split_lines, split_path
from .defaults import MAX_FREE_TOKENS, MAX_POEMS, MAX_TEXT, default_corpus_dir, default_model_dir
from .errors import GenerationError
from .model import WEIGHTS_FILE, load_model_dir
from .prosody import PING, Report, check, patterns, rhyme_table
from .rules import Rhyme
from .sampler import Decoder, Sampling, check_sampling, extend_hash, select_rows
from .tokenizer import FORM_TOKENS

SCRIPTS = ("traditional", "simplified")
DEFAULT_STYLE = "唐"
STYLES = {"唐": TANG, "唐诗": TANG, "tang": TANG, "宋": SONG, "宋诗": SONG, "song": SONG}
# The id's version: bumped whenever the same model, seed and parameters would give another poem
# (pg2: sampling by one uniform number per row; pg3: the input table's arithmetic and the
# theme's precomputed neighbours, which may round a draw the other way; both 2026-11-23).
ID_PREFIX = "pg3_"
OLD_ID_PREFIXES = ("pg1_", "pg2_")


@dataclass
class Poem:
    text: str  # one line (句) per text line, each ending in its punctuation
    lines: list[str]  # the lines without punctuation
    form: str
    score: float  # mean log-probability per character under the model
    id: str = ""  # rebuilds this poem exactly with Poet.regenerate(id)
    check: dict = field(default_factory=dict)  # the 格律 report (prosody.Report)
    keywords: list[str] = field(default_factory=list)  # theme keywords used

    def to_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        return self.text


MAX_MERGED_ROWS = 64
FREE_CHUNK = 8  # a free poem is located in chunks of this many tokens (see _locate)


@dataclass(eq=False)  # compared by identity: it holds arrays
class _Waiting:
    plan: object
    sampling: Sampling
    key: tuple
    start: dict | None = None
    stop_at: int = 0
    result: tuple | None = None
    error: Exception | None = None


class Poet:
    def __init__(self, model, tokenizer, model_dir: Path | None = None, corpus_dir: Path | None = None):
        self.model = model
        self.tokenizer = tokenizer
        self.model_dir = model_dir
        self.corpus_dir = corpus_dir
        self.table = rhyme_table()
        self.vocab = Vocabulary(tokenizer, self.table)
        self.decoder = Decoder(model, tokenizer, self.vocab.members, self._corpus_lines())
        self._decoding = threading.Lock()  # one pass at a time: the two cores are shared anyway
        self._waiting_lock = threading.Lock()
        self._waiting: list[_Waiting] = []

    @classmethod
    def load(cls, model_dir: str | Path | None = None, corpus_dir: str | Path | None = None) -> Poet:
        directory = Path(model_dir) if model_dir is not None else default_model_dir()
        model, _, tokenizer = load_model_dir(directory)
        corpus = Path(corpus_dir) if corpus_dir is not None else default_corpus_dir()
        return cls(model, tokenizer, directory, corpus)

    @cached_property
    def model_hash(self) -> str:
        path = self.model_dir / WEIGHTS_FILE if self.model_dir else None
        if path and path.is_file():
            return hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        return "unsaved"

    def _corpus_lines(self) -> np.ndarray | None:
        """Every corpus line as (hash of all but its last character, that character), for the
        no-copy rule (None when no corpus is at hand).
        Vectorized over code points: this runs at every start-up."""
        if self.corpus_dir is None:
            return None
        texts = [json.loads(row)["text"] for split in ("train", "valid")
                 if split_path(self.corpus_dir, split) is not None
                 for row in read_split_text(self.corpus_dir, split).splitlines()]
        if not texts:
            return None
        points = np.frombuffer("".join(texts).encode("utf-32-le"), np.uint32)
        tokens = self.tokenizer.tokens
        known = np.array(sorted(ord(t) for t in tokens[self.tokenizer.first_char:]), np.uint32)
        id_of = np.array([self.tokenizer.index[chr(c)] for c in known], np.int64)
        pos = np.minimum(np.searchsorted(known, points), len(known) - 1)
        ids = np.where(known[pos] == points, id_of[pos], -1)  # -1: a mark, or a character unknown
        marks = np.flatnonzero((points == ord("，")) | (points == ord("。")))
        starts = np.concatenate([[0], marks[:-1] + 1])
        lengths = marks - starts
        hashes = []
        for length in np.unique(lengths[lengths > 0]):
            rows = ids[starts[lengths == length][:, None] + np.arange(length)]
            rows = rows[(rows >= 0).all(axis=1)]  # the sampler never writes <unk>: such lines cannot recur
            h = np.zeros(len(rows), np.int64)
            for column in rows[:, :-1].T:
                h = extend_hash(h, column)
            hashes.append(np.stack([h, rows[:, -1]], axis=1))
        return np.unique(np.concatenate(hashes), axis=0)

    # -- script conversion ------------------------------------------------------------
    @cached_property
    def _s2t(self):
        import opencc

        return opencc.OpenCC("s2t")

    @cached_property
    def _t2s(self):
        import opencc

        return opencc.OpenCC("t2s")

    def to_model_script(self, text: str) -> str:
        """Map user text (简 or 繁) to the model's traditional characters, char by char where
        the vocabulary knows the character, so 后 becomes 後 but a known 后 is not forced."""
        converted = self._s2t.convert(text)
        if len(converted) != len(text):
            converted = "".join(self._s2t.convert(ch) for ch in text)
        known = self.tokenizer.index
        return "".join(c if c in known or o not in known else o for o, c in zip(text, converted))

    def display(self, text: str, script: str) -> str:
        return self._t2s.convert(text) if script == "simplified" else text

    # -- request parsing ----------------------------------------------------------------
    def _ids(self, text: str, what: str, punctuation: bool) -> list[int]:
        if not isinstance(text, str):
            raise GenerationError(f"{what} must be text, got {type(text).__name__}")
        if len(text) > MAX_TEXT:
            raise GenerationError(f"{what} is too long ({len(text)} characters; at most {MAX_TEXT})")
        text = re.sub(r"\s+", "", text).replace(",", "，").replace(".", "。")
        if not punctuation:
            text = re.sub("[，。、；：！？]", "", text)
        text = self.to_model_script(text)
        missing = self.tokenizer.missing(text)
        if missing:
            raise GenerationError(f"the model does not know these characters of the {what}: {''.join(missing)}")
        return [self.tokenizer.index[ch] for ch in text]

    @cached_property
    def _jieba(self):
        import jieba
        import jieba.analyse

        jieba.setLogLevel(logging.WARNING)
        jieba.initialize()
        return jieba.analyse

    def theme_keywords(self, theme: str) -> list[str]:
        """jieba keywords of the theme, in the model's script, that the model can write."""
        if len(theme) > MAX_TEXT:
            raise GenerationError(f"theme is too long ({len(theme)} characters; at most {MAX_TEXT})")
        simplified = self._t2s.convert(theme)
        words = self._jieba.extract_tags(simplified, topK=5) or re.findall(r"[\u4e00-\u9fff]", simplified)[:3]
        out = []
        for word in words:
            word = self.to_model_script(word)
            chars = "".join(ch for ch in word if ch in self.tokenizer.index)
            if chars and chars not in out:
                out.append(chars)
        if not out:
            raise GenerationError(f"no keyword of the theme {theme!r} is written with characters the model knows")
        return out

    THEME_NEIGHBOURS = 12

    @cached_property
    def _neighbours(self) -> tuple[np.ndarray, np.ndarray]:
        """Every token's nearest characters by cosine in the model's embedding space, and those
        similarities: computed once (about half a second), so that a theme costs a lookup (it
        cost 5 ms of a 50 ms poem computed per request)."""
        emb = self.decoder.embedding.numpy()
        unit = tf.constant(emb / (np.linalg.norm(emb, axis=1, keepdims=True) + 1e-9))
        unit_t = tf.transpose(unit)
        is_char = tf.range(len(self.tokenizer)) >= self.tokenizer.first_char
        k = min(self.THEME_NEIGHBOURS + 1, len(self.tokenizer))
        indices, values = [], []
        # In TensorFlow, not numpy: OpenBLAS's threads keep spinning after a matmul and would
        # slow the decoding pass that follows by a third (measured).
        for rows in range(0, len(self.tokenizer), 1024):
            sims = tf.where(is_char[None, :], tf.matmul(unit[rows:rows + 1024], unit_t), -1.0)
            top = tf.math.top_k(sims, k)  # the first is the character itself
            indices.append(top.indices[:, 1:].numpy())
            values.append(top.values[:, 1:].numpy())
        return np.concatenate(indices), np.concatenate(values)

    def theme_bias(self, keywords: list[str], strength: float = 3.0) -> np.ndarray:
        """A logit bias toward the keyword characters and, more gently, their nearest
        neighbours in the model's embedding space (characters used in the same contexts)."""
        ids = sorted({self.tokenizer.index[ch] for word in keywords for ch in word})
        neighbours, sims = self._neighbours
        bias = np.zeros(len(self.tokenizer), np.float32)
        for i in ids:
            near = neighbours[i]
            bias[near] = np.maximum(bias[near], strength * 0.4 * np.clip(sims[i], 0, 1))
        bias[ids] = strength
        return bias

    # -- writing ------------------------------------------------------------------------
    def write(self, start: str = "", form: str | None = None, temperature: float = 0.8,
              top_k: int = 0, top_p: float = 1.0, n: int = 1, seed: int | None = None,
              script: str = "traditional", max_tokens: int = 120, acrostic: str = "", tail: str = "",
              theme: str = "", rhyme: str | None = None, tones: str | None = None,
              pattern: str | None = None, no_copy: bool = True, max_repeat: int = 2,
              rerank: bool = False, style: str = DEFAULT_STYLE) -> list[Poem]:
        """Write n poems in one batched, compiled pass. Same arguments and seed, same poems.

        tones: 'off', 'rhyme' (rhyme positions share a 平水韵 group) or 'strict' (and the
        strict positions of a 格律 pattern); default strict for a regulated form.
        style: '唐' or '宋', the manner of the Tang or the Song poets (a model trained on
        both collections; a Tang-only model writes '唐' only)."""
        params = dict(start=start, form=form, temperature=temperature, top_k=top_k, top_p=top_p,
                      script=script, max_tokens=max_tokens, acrostic=acrostic, tail=tail, theme=theme,
                      rhyme=rhyme, tones=tones, pattern=pattern, no_copy=no_copy, max_repeat=max_repeat,
                      style=style)
        seed = self._check_count_and_seed(n, seed)
        count = 3 * n if rerank else n
        poems = self._write(params, count, seed)
        if rerank:
            poems = sorted(poems, key=lambda p: -p.score)[:n]
        return poems

    @staticmethod
    def _check_count_and_seed(n, seed) -> int:
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_POEMS:
            raise GenerationError(f"n must be a whole number from 1 to {MAX_POEMS}, got {n!r}")
        if seed is None:
            return secrets.randbelow(2**31 - 1)
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**31 - 1:
            raise GenerationError(f"seed must be a whole number from 0 to {2**31 - 2}, got {seed!r}")
        return seed

    def _write(self, params: dict, count: int, seed: int) -> list[Poem]:
        return self._generate(params, count, seed)[0]

    def _generate(self, params: dict, count: int, seed: int) -> tuple[list[Poem], np.ndarray]:
        req, sampling, keywords, script, plan = self._plan(params, count, seed)
        tokens, logprobs, _ = self._decode(plan, sampling)
        return self._poems(params, seed, req, keywords, script, tokens, logprobs), tokens

    def _plan(self, params: dict, count: int, seed: int):
        req, sampling, keywords, script = self._parse(params, seed)
        bias = np.tile(self.theme_bias(keywords), (count, 1)) if keywords else None
        return req, sampling, keywords, script, plan_request(self.vocab, req, count, seed, bias)

    def _poems(self, params: dict, seed: int, req: Request, keywords: list[str], script: str,
               tokens: np.ndarray, logprobs: np.ndarray) -> list[Poem]:
        poems = []
        for i, (row, lp) in enumerate(zip(tokens, logprobs)):
            poem = self._poem(row, lp, req.form, script)
            poem.keywords = keywords
            poem.id = self._make_id(params, seed, i)
            poems.append(poem)
        return poems

    def write_stream(self, chunk: int = 8, **kwargs) -> Iterator[tuple[list[str], list[Poem] | None]]:
        """write(), decoded `chunk` tokens at a time: yields (the text of each poem so far,
        None) while writing, then (the texts, the finished poems), the same poems write() gives."""
        try:
            bound = inspect.signature(self.write).bind(**kwargs)
        except TypeError as e:
            raise GenerationError(str(e)) from None
        bound.apply_defaults()
        params = dict(bound.arguments)
        if params.pop("rerank"):
            raise GenerationError("rerank chooses among finished poems: use write(), not write_stream()")
        n = params.pop("n")
        seed = self._check_count_and_seed(n, params.pop("seed"))
        req, sampling, keywords, script, plan = self._plan(params, n, seed)
        length = plan.forced.shape[1]
        state, tokens, logprobs = None, [], []
        for stop in [*range(chunk, length, chunk), length]:
            piece, lp, state = self._decode(plan, sampling, state, stop)
            tokens.append(piece)
            logprobs.append(lp)
            so_far = np.concatenate(tokens, axis=1)
            finished = bool(state["done"].all())
            if not finished and stop < length:
                yield [self.display(self.tokenizer.decode(row), script) for row in so_far], None
            else:
                break
        pad = length - so_far.shape[1]
        tokens = np.pad(so_far, ((0, 0), (0, pad)), constant_values=self.tokenizer.pad)
        logprobs = np.pad(np.concatenate(logprobs, axis=1), ((0, 0), (0, pad)))
        poems = self._poems(params, seed, req, keywords, script, tokens, logprobs)
        yield [p.text for p in poems], poems

    def _decode(self, plan, sampling: Sampling, start: dict | None = None,
                stop_at: int | None = None) -> tuple[np.ndarray, np.ndarray, dict]:
        """Decode a plan (or its positions start["t"] .. stop_at - 1); calls made from several
        threads at once (a busy web page) are merged into one batched pass where their plans
        and positions allow, each getting exactly its own tokens."""
        stop_at = stop_at or plan.forced.shape[1]
        me = _Waiting(plan, sampling, self.decoder.merge_key(plan, sampling, start, stop_at), start, stop_at)
        with self._waiting_lock:
            self._waiting.append(me)
        with self._decoding:
            if me.result is None and me.error is None:
                with self._waiting_lock:
                    group, rows = [], 0
                    for w in list(self._waiting):
                        if w.key == me.key and (w is me or rows + w.plan.batch <= MAX_MERGED_ROWS):
                            group.append(w)
                            rows += w.plan.batch
                            self._waiting.remove(w)
                try:
                    results = self.decoder.advance_many([(w.plan, w.sampling, w.start) for w in group], stop_at)
                except Exception as e:  # noqa: BLE001 - handed to the caller it belongs to
                    for w in group:
                        w.error = e
                else:
                    for w, result in zip(group, results):
                        w.result = result
        if me.error is not None:
            raise me.error
        return me.result

    def _parse(self, p: dict, seed: int) -> tuple[Request, Sampling, list[str], str]:
        check_sampling(p["temperature"], p["top_k"], p["top_p"])
        if p["script"] not in SCRIPTS:
            raise GenerationError(f"script must be one of {SCRIPTS}, got {p['script']!r}")
        max_tokens = p["max_tokens"]
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or not 8 <= max_tokens <= MAX_FREE_TOKENS:
            raise GenerationError(f"max_tokens must be from 8 to {MAX_FREE_TOKENS}, got {max_tokens!r}")
        max_repeat = p["max_repeat"]
        if isinstance(max_repeat, bool) or not isinstance(max_repeat, int) or not 0 <= max_repeat <= 56:
            raise GenerationError(f"max_repeat must be a whole number from 0 (off) to 56, got {max_repeat!r}")
        heads = self._ids(p["acrostic"] or "", "acrostic", punctuation=False)
        tails = self._ids(p["tail"] or "", "tail acrostic", punctuation=False)
        form = p["form"]
        if form in (None, "", FREE):
            form = ACROSTIC_FORMS.get(len(heads or tails)) if (heads or tails) else FREE
            if form is None:
                raise GenerationError(f"an acrostic of {len(heads or tails)} characters fits no form: give 4 "
                                      f"(七绝, or form=五绝) or 8 (七律, or form=五律)")
        elif form not in FORMS:
            raise GenerationError(f"unknown form {form!r}: choose one of {', '.join(FORMS)} or free")
        tones = p["tones"] if p["tones"] is not None else ("off" if form == FREE else "strict")
        if tones not in TONE_LEVELS:
            raise GenerationError(f"tones must be one of {TONE_LEVELS}, got {tones!r}")
        rhyme = None
        if p["rhyme"]:
            if tones == "off":
                raise GenerationError("a rhyme group needs tones='rhyme' or 'strict'")
            try:
                rhyme = self.table.group_index(str(p["rhyme"]))
            except ValueError as e:
                raise GenerationError(str(e)) from None
        keywords = self.theme_keywords(p["theme"]) if p["theme"] else []
        if not isinstance(p["no_copy"], bool):
            raise GenerationError(f"no_copy must be true or false, got {p['no_copy']!r}")
        collection = self._collection(p.get("style", DEFAULT_STYLE))
        opening = p.get("opening")  # set only by rewrite(): the free poem's own form token
        if opening is not None and (form != FREE or opening not in FORM_TOKENS):
            raise GenerationError(f"opening must be one of {FORM_TOKENS} for a free-form poem, got {opening!r}")
        req = Request(form=form, start=tuple(self._ids(p["start"] or "", "start text", punctuation=True)),
                      heads=tuple(heads), tails=tuple(tails), rhyme=rhyme, tones=tones,
                      pattern=p["pattern"] or None, no_copy=p["no_copy"] and self.decoder.has_corpus,
                      max_repeat=max_repeat, max_len=max_tokens,
                      opening=self.tokenizer.index[opening] if opening is not None else None,
                      collection=collection)
        sampling = Sampling(float(p["temperature"]), int(p["top_k"]), float(p["top_p"]), seed)
        return req, sampling, keywords, p["script"]

    def _collection(self, style) -> str:
        if style not in STYLES:
            raise GenerationError(f"style must be one of {', '.join(sorted(set(STYLES.values())))} "
                                  f"(唐 or 宋), got {style!r}")
        collection = STYLES[style]
        if collection != TANG and not self.tokenizer.conditioned:
            raise GenerationError(f"this model was trained on Tang verse only: it cannot write in the "
                                  f"manner of {style} (use a model trained on the Song collections)")
        return collection

    def _poem(self, tokens, logprobs, form: str, script: str) -> Poem:
        tok = self.tokenizer
        is_char = tokens >= tok.first_char
        score = float(logprobs[is_char].mean()) if is_char.any() else float("-inf")
        body = tok.decode(tokens)
        if tok.eos not in tokens:  # cut at the length cap: keep the complete couplets
            cut = body.rfind("。") + 1
            body = body[:cut] if cut else body.rstrip("，") + "。"
        report = check(body, self.table).to_dict()
        if form == FREE:  # name what was written, not the form token the model opened with
            form = report["form"] if report["form"] in FORMS else "其他"
        body = self.display(body, script)
        lines = split_lines(body)
        text = "\n".join(re.findall(r"[^，。]+[，。]", body))
        return Poem(text=text, lines=lines, form=form, score=round(score, 4), check=report)

    # -- ids ----------------------------------------------------------------------------
    def _make_id(self, params: dict, seed: int, index: int) -> str:
        payload = {"m": self.model_hash, "s": seed, "i": index, "p": params}
        raw = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
        return ID_PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def _decode_id(self, poem_id: str) -> tuple[dict, int, int]:
        if isinstance(poem_id, str) and poem_id.startswith(OLD_ID_PREFIXES):
            raise GenerationError(f"the id was made by an earlier poetgen ({poem_id[:3]}) that sampled "
                                  f"differently: this version cannot rebuild that poem exactly")
        if not isinstance(poem_id, str) or not poem_id.startswith(ID_PREFIX) or len(poem_id) > 4000:
            raise GenerationError(f"not a poetgen poem id (they start with {ID_PREFIX!r})")
        body = poem_id[len(ID_PREFIX):]
        try:
            payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
            model, seed, index, params = payload["m"], payload["s"], payload["i"], payload["p"]
        except (binascii.Error, ValueError, KeyError, TypeError):
            raise GenerationError("the poem id is damaged: it does not decode") from None
        if model != self.model_hash:
            raise GenerationError(f"the poem id was made by model {model}, this is model {self.model_hash}")
        if isinstance(params, dict):
            params.setdefault("style", DEFAULT_STYLE)  # an id from before styles
        if not isinstance(index, int) or not 0 <= index < 3 * MAX_POEMS or not isinstance(params, dict) or set(
                params) - {"opening"} != set(self._make_params_keys()):
            raise GenerationError("the poem id is damaged: its parameters are incomplete")
        return params, seed, index

    def regenerate(self, poem_id: str) -> Poem:
        """The poem an id was made for, rebuilt exactly (same model, seed and parameters)."""
        params, seed, index = self._decode_id(poem_id)
        return self._write(params, index + 1, seed)[index]

    # -- alternatives -------------------------------------------------------------------
    def _locate(self, poem_id: str, line: int, position: int):
        """The poem, its parameters, and the token column of (line, position), 0-based."""
        params, seed, index = self._decode_id(poem_id)
        req, sampling, keywords, script, plan = self._plan(params, index + 1, seed)
        # A regulated form's layout gives the column before decoding: decode in two chunks and
        # keep the state there, for a rewrite to continue from.
        split = plan.layout.get((line, position)) if plan.layout and isinstance(line, int) \
            and isinstance(position, int) else None
        # A free poem's columns are known only once it is written: decode it in chunks and keep
        # the state at each chunk's start; a rewrite continues from the last one before its
        # column, the few kept characters after it forced.
        stops = [split] if split else list(range(FREE_CHUNK, plan.forced.shape[1], FREE_CHUNK))
        states, pieces, state = [], [], self.decoder.start_state(plan)
        for stop in [*stops, plan.forced.shape[1]]:
            states.append(state)
            piece, piece_lp, state = self._decode(plan, sampling, state, stop)
            pieces.append((piece, piece_lp))
        tokens = np.concatenate([p for p, _ in pieces], axis=1)
        logprobs = np.concatenate([lp for _, lp in pieces], axis=1)
        poems = self._poems(params, seed, req, keywords, script, tokens, logprobs)
        poem, row = poems[index], tokens[index]
        for name, value, top in (("line", line, len(poem.lines)),
                                 ("position", position, len(poem.lines[line]) if 0 <= line < len(poem.lines)
                                  else 0)):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < top:
                raise GenerationError(f"{name} must be from 1 to {top} (counting from 1), got "
                                      f"{value + 1 if isinstance(value, int) else value!r}")
        is_char = row >= self.tokenizer.first_char
        before = sum(len(x) for x in poem.lines[:line]) + position
        col = int(np.flatnonzero(is_char)[before])
        fixed_by = ("start text" if before < len(self._ids(params["start"] or "", "start", False))
                    else "acrostic" if params["acrostic"] and position == 0
                    else "tail acrostic" if params["tail"] and position == len(poem.lines[line]) - 1 else "")
        if fixed_by:
            raise GenerationError(f"line {line + 1}, character {position + 1} is fixed by the {fixed_by}")
        saved = [s for s in states if s["t"] <= col and (not split or s["t"] == col)]
        at_col = None
        if saved:
            at_col = select_rows(saved[-1], slice(index, index + 1))
        return poem, params, seed, row, col, logprobs[index], at_col

    def _allowed(self, poem: Poem, tones: str, line: int, position: int) -> np.ndarray:
        """Characters that keep what the request asked for at that position: the tone of the
        poem's pattern (tones 'strict') and, at a rhyme position, a group shared with the other
        rhymes (tones 'rhyme' or 'strict')."""
        tok, report, vocab = self.tokenizer, poem.check, self.vocab
        allowed = np.arange(len(tok)) >= tok.first_char
        pattern = next((p for p in patterns(poem.form) if p.name == report.get("pattern")), None) \
            if poem.form in FORMS and tones != "off" else None
        if pattern is None:
            return allowed
        last = position == len(poem.lines[line]) - 1
        if last and line in pattern.rhymes:
            others = [self.to_model_script(c) for i, c in zip(report["rhyme_lines"], report["rhyme_chars"])
                      if i != line]
            groups = sorted(set.intersection(*(self.table.ping_groups(c) for c in others)))
            allowed &= vocab.members[:, groups].any(axis=1)
        elif tones == "strict" and position in pattern.strict[line]:
            allowed &= vocab.ping if pattern.lines[line][position] == PING else vocab.ze
        return allowed

    @staticmethod
    def _tones(params: dict) -> str:
        return params["tones"] or ("off" if params["form"] in (None, "", FREE) else "strict")

    def alternatives(self, poem_id: str, line: int, position: int, k: int = 8) -> list[tuple[str, float]]:
        """The model's k most likely characters at (line, position) of a poem (0-based), among
        those that keep its form, tone and rhyme, with their probabilities."""
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 50:
            raise GenerationError(f"k must be from 1 to 50, got {k!r}")
        poem, params, _, row, col, _, _ = self._locate(poem_id, line, position)
        inputs = np.concatenate([[self.tokenizer.bos], row[:col]]).astype(np.int32)[None]
        with self._decoding:
            logits = np.asarray(self.model(inputs, training=False))[0, -1].astype(np.float64)
        probs = np.exp(logits - logits.max())
        probs /= probs.sum()
        probs[~self._allowed(poem, self._tones(params), line, position)] = 0
        best = [int(t) for t in np.argsort(-probs)[:k] if probs[t] > 0]
        return [(self.display(self.tokenizer.tokens[t], params["script"]), float(probs[t])) for t in best]

    def rewrite(self, poem_id: str, line: int, position: int, char: str) -> Poem:
        """Put `char` at (line, position) (0-based) and write the rest of the poem anew, under
        the same constraints, pattern and seed. The new poem has its own id."""
        poem, params, seed, row, col, row_logprobs, at_col = self._locate(poem_id, line, position)
        if not isinstance(char, str) or len(char.strip()) != 1:
            raise GenerationError(f"give exactly one replacement character, got {char!r}")
        [token] = self._ids(char.strip(), "replacement character", punctuation=False) or [None]
        if token is None:
            raise GenerationError(f"give exactly one replacement character, got {char!r}")
        if not self._allowed(poem, self._tones(params), line, position)[token]:
            raise GenerationError(f"{char} breaks the poem's 格律 at line {line + 1}, character {position + 1}")
        prefix = self.tokenizer.decode(row[:col]) + self.tokenizer.tokens[token]
        params = {**params, "start": prefix}
        if params["form"] in (None, "", FREE) and not (params["acrostic"] or params["tail"]):
            # Free form: keep the model's choice of form, the token after the forced lead.
            lead = free_lead(self.tokenizer, self._collection(params["style"]))
            params["opening"] = self.tokenizer.tokens[row[len(lead)]]
        if poem.check.get("pattern") and params["tones"] != "off":
            params["pattern"] = poem.check["pattern"]
        # A fresh draw for the rest (the same seed would mostly repeat the old ending), still
        # reproducible: the new id records this seed.
        seed = (seed * 1_000_003 + col * 7_919 + token) % (2**31 - 1)
        req, sampling, keywords, script, plan = self._plan(params, 1, seed)
        if at_col is None or not np.array_equal(plan.forced[0, :col], row[:col]):
            # The kept text reads back as other characters (a corpus with both 凭 and 憑): one
            # full pass, as the new id will give.
            tokens, logprobs, _ = self._decode(plan, sampling)
            return self._poems(params, seed, req, keywords, script, tokens, logprobs)[0]
        # Continue from the original poem's decoding state at that column (LSTM and
        # constraints alike) instead of feeding the kept prefix through the model again.
        rhyme = plan.rule(Rhyme.name)
        if rhyme is not None:
            # The new plan's pinned pattern may open other rhyme groups than the original's
            # choice of patterns did: carry the groups its own pass would have at the column.
            groups = Rhyme.narrow(rhyme.groups[:1], rhyme.rhyme_at[0, :at_col["t"]], row, self.vocab.members)
            at_col = {**at_col, "rules": {**at_col["rules"], Rhyme.name: {"groups": groups}}}
        tail, tail_lp, _ = self._decode(plan, sampling, at_col, None)
        kept = at_col["t"]
        tokens = np.concatenate([row[None, :kept], tail], axis=1)
        logprobs = np.concatenate([row_logprobs[None, :kept], tail_lp], axis=1)
        return self._poems(params, seed, req, keywords, script, tokens, logprobs)[0]

    @staticmethod
    def _make_params_keys() -> tuple[str, ...]:
        return ("start", "form", "temperature", "top_k", "top_p", "script", "max_tokens", "acrostic",
                "tail", "theme", "rhyme", "tones", "pattern", "no_copy", "max_repeat", "style")

    def warm_up(self) -> None:
        """Compile the decoding loops the page uses most, so a first visitor does not wait."""
        for form in FORMS:
            self.write(form=form, n=1, seed=0)
        self.write(form="七绝", theme="春", n=1, seed=0)
        self.write(form="七绝", n=1, seed=0, top_k=40, top_p=0.9)
        self.write(n=1, seed=0, max_tokens=16)
        for form in FORMS:  # the merged loops that a busy page uses
            self._write_together([dict(form=form, n=1, seed=s) for s in (0, 1)])

    def _write_together(self, asks: list[dict], timeout: float = 120) -> None:
        """Several write() calls queued behind one pass, so that they run merged."""
        threads = [threading.Thread(target=self.write, kwargs=ask, daemon=True) for ask in asks]
        deadline = time.monotonic() + timeout
        with self._decoding:
            for thread in threads:
                thread.start()
            while len(self._waiting) < len(asks) and time.monotonic() < deadline:
                time.sleep(0.005)
        for thread in threads:
            thread.join(timeout)

    # -- checking -----------------------------------------------------------------------
    def check(self, text: str) -> Report:
        if not isinstance(text, str) or not text.strip():
            raise GenerationError("nothing to check: give the text of a poem")
        if len(text) > 2000:
            raise GenerationError(f"the poem is too long to check ({len(text)} characters; at most 2000)")
        cleaned = re.sub(r"[\s　]+", "", text)
        cleaned = re.sub("[、；：！？,.;:!?]", lambda m: "。" if m.group() in "！？!?.。" else "，", cleaned)
        if not re.fullmatch(r"([^，。]+[，。])+", cleaned):
            cleaned = cleaned.rstrip("，") + ("" if cleaned.endswith("。") else "。")
        if not re.fullmatch(r"([^，。]+[，。])+", cleaned):
            raise GenerationError("the text is not a poem of lines ending in ， or 。")
        return check(cleaned, self.table)
