"""The Python API: `Poet.load()` then `poet.write(...)`; everything else sits on top of it."""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path

from .constraints import FREE, plan_request
from .corpus import FORMS, split_lines
from .errors import GenerationError, ModelError
from .model import load_model_dir
from .sampler import Decoder, Sampling, check_sampling

DEFAULT_MODEL = "tang-lstm512"
MAX_POEMS = 256
MAX_FREE_TOKENS = 200
SCRIPTS = ("traditional", "simplified")


def default_model_dir() -> Path:
    """$POETGEN_MODEL, else the model shipped in the repository's models/ folder."""
    env = os.environ.get("POETGEN_MODEL")
    if env:
        return Path(env)
    for root in (Path(__file__).resolve().parent.parent, Path.cwd()):
        candidate = root / "models" / DEFAULT_MODEL
        if candidate.is_dir():
            return candidate
    raise ModelError(f"no model given and models/{DEFAULT_MODEL} not found; pass a model directory")


@dataclass
class Poem:
    text: str  # one line (句) per text line, each ending in its punctuation
    lines: list[str]  # the lines without punctuation
    form: str
    score: float  # mean log-probability per character under the model

    def to_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        return self.text


class Poet:
    def __init__(self, model, tokenizer, model_dir: Path | None = None):
        self.model = model
        self.tokenizer = tokenizer
        self.model_dir = model_dir
        self.decoder = Decoder(model, tokenizer)

    @classmethod
    def load(cls, model_dir: str | Path | None = None) -> "Poet":
        directory = Path(model_dir) if model_dir is not None else default_model_dir()
        model, _, tokenizer = load_model_dir(directory)
        return cls(model, tokenizer, directory)

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

    # -- writing ------------------------------------------------------------------------
    def encode_start(self, start: str) -> list[int]:
        """Start text -> token ids; punctuation is kept, other marks are refused."""
        start = re.sub(r"\s+", "", start or "")
        start = start.replace(",", "，").replace(".", "。")
        start = self.to_model_script(start)
        missing = self.tokenizer.missing(start)
        if missing:
            raise GenerationError(f"the model does not know these characters of the start text: "
                                  f"{''.join(missing)}")
        return [self.tokenizer.index[ch] for ch in start]

    def write(self, start: str = "", form: str | None = None, temperature: float = 0.8,
              top_k: int = 0, top_p: float = 1.0, n: int = 1, seed: int | None = None,
              script: str = "traditional", max_tokens: int = 120) -> list[Poem]:
        """Write n poems in one batched, compiled pass. Same arguments and seed, same poems."""
        form = FREE if form in (None, "", FREE) else form
        if form != FREE and form not in FORMS:
            raise GenerationError(f"unknown form {form!r}: choose one of {', '.join(FORMS)} or free")
        check_sampling(temperature, top_k, top_p)
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_POEMS:
            raise GenerationError(f"n must be a whole number from 1 to {MAX_POEMS}, got {n!r}")
        if script not in SCRIPTS:
            raise GenerationError(f"script must be one of {SCRIPTS}, got {script!r}")
        if not isinstance(max_tokens, int) or not 8 <= max_tokens <= MAX_FREE_TOKENS:
            raise GenerationError(f"max_tokens must be from 8 to {MAX_FREE_TOKENS}, got {max_tokens!r}")
        if seed is None:
            seed = secrets.randbelow(2**31 - 1)
        elif isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**31 - 1:
            raise GenerationError(f"seed must be a whole number from 0 to {2**31 - 2}, got {seed!r}")
        plan = plan_request(self.tokenizer, n, form, self.encode_start(start), max_tokens)
        tokens, logprobs = self.decoder.generate(plan, Sampling(float(temperature), top_k, float(top_p), seed))
        return [self._poem(row, lp, form, script) for row, lp in zip(tokens, logprobs)]

    def _poem(self, tokens, logprobs, form: str, script: str) -> Poem:
        tok = self.tokenizer
        is_char = tokens >= tok.first_char
        score = float(logprobs[is_char].mean()) if is_char.any() else float("-inf")
        if form == FREE:
            chosen = [t for t in tokens if tok.tokens[t].startswith("<") and t in tok.form_ids]
            form = tok.tokens[chosen[0]][1:-1] if chosen else "其他"
        body = tok.decode(tokens)
        if tok.eos not in tokens:  # cut at the length cap: keep the complete couplets
            cut = body.rfind("。") + 1
            body = body[:cut] if cut else body.rstrip("，") + "。"
        body = self.display(body, script)
        lines = split_lines(body)
        text = "\n".join(re.findall(r"[^，。]+[，。]", body))
        return Poem(text=text, lines=lines, form=form, score=round(score, 4))
