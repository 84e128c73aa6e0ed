"""Character tokenizer: one token per Han character or line mark, plus special tokens."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from .corpus import FORMS, OTHER, is_han
from .errors import ModelError
from .files import atomic_write_json

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
FORM_TOKENS = tuple(f"<{form}>" for form in (*FORMS, OTHER))
SPECIALS = (PAD, UNK, BOS, EOS, *FORM_TOKENS)
PUNCTUATION = ("，", "。")
VOCAB_FORMAT = "poetgen-vocab-1"


class Tokenizer:
    def __init__(self, tokens: Sequence[str]):
        if tuple(tokens[: len(SPECIALS)]) != SPECIALS:
            raise ModelError("vocabulary does not start with poetgen's special tokens")
        if len(set(tokens)) != len(tokens):
            raise ModelError("vocabulary has duplicate tokens")
        self.tokens = list(tokens)
        self.index = {tok: i for i, tok in enumerate(self.tokens)}
        self.pad, self.unk, self.bos, self.eos = (self.index[t] for t in (PAD, UNK, BOS, EOS))
        self.comma, self.period = self.index["，"], self.index["。"]
        self.first_char = len(SPECIALS) + len(PUNCTUATION)  # ids from here on are characters
        self.form_ids = frozenset(self.index[t] for t in FORM_TOKENS)

    @classmethod
    def build(cls, texts: Iterable[str], min_count: int = 3) -> Tokenizer:
        """Characters seen at least `min_count` times, most frequent first, ties by code point."""
        counts = Counter(ch for text in texts for ch in text if is_han(ch))
        chars = sorted((c for c, n in counts.items() if n >= min_count), key=lambda c: (-counts[c], c))
        return cls([*SPECIALS, *PUNCTUATION, *chars])

    def __len__(self) -> int:
        return len(self.tokens)

    def form_token(self, form: str) -> int:
        return self.index[f"<{form}>"]

    def encode(self, text: str, form: str | None = None, bos: bool = True, eos: bool = True) -> list[int]:
        ids = [self.bos] if bos else []
        if form is not None:
            ids.append(self.form_token(form))
        ids.extend(self.index.get(ch, self.unk) for ch in text)
        if eos:
            ids.append(self.eos)
        return ids

    def decode(self, ids: Iterable[int]) -> str:
        """Text of the characters and line marks; special tokens are left out."""
        n_special = len(SPECIALS)
        return "".join(self.tokens[i] for i in ids if i >= n_special)

    def missing(self, text: str) -> list[str]:
        """Characters of `text` the vocabulary lacks, in order of first appearance."""
        return list(dict.fromkeys(ch for ch in text if ch not in self.index))

    def save(self, path: str | Path) -> None:
        atomic_write_json(path, {"format": VOCAB_FORMAT, "tokens": self.tokens})

    @classmethod
    def load(cls, path: str | Path) -> Tokenizer:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ModelError(f"vocabulary file not found: {path}") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ModelError(f"vocabulary file {path} is unreadable: {e}") from None
        if not isinstance(data, dict) or data.get("format") != VOCAB_FORMAT:
            raise ModelError(f"{path} is not a poetgen vocabulary ({VOCAB_FORMAT})")
        tokens = data.get("tokens")
        if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
            raise ModelError(f"{path}: 'tokens' must be a list of strings")
        return cls(tokens)
