"""Character tokenizer: one token per Han character or line mark, plus special tokens.

A poem is encoded as <bos>, its opening tokens, its text and <eos>. The opening says what to
write: in a vocabulary of format 1 (Tang verse only) the form (<七律>); in format 2 the
collection, then the form or the 词牌 (<宋诗><七律>, <宋词><词牌:浣溪沙>; <宋词><词> for a tune
too rare to have its own token)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..corpus.prepare import COLLECTIONS
from ..errors import ModelError
from ..files import atomic_write_json
from ..text.forms import CI, FORMS, OTHER, TANG, is_han

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
FORM_TOKENS = tuple(f"<{form}>" for form in (*FORMS, OTHER))
SPECIALS = (PAD, UNK, BOS, EOS, *FORM_TOKENS)
PUNCTUATION = ("，", "。")
VOCAB_FORMATS = ("poetgen-vocab-1", "poetgen-vocab-2")
COLLECTION_TOKENS = tuple(f"<{name}>" for name in COLLECTIONS)
CI_TOKEN = f"<{CI}>"
MIN_TUNE_POEMS = 20  # a 词牌 with fewer training ci shares the generic <词> token


def tune_token(cipai: str) -> str:
    return f"<词牌:{cipai}>"


def _is_special(token: str) -> bool:
    return len(token) > 2 and token[0] == "<" and token[-1] == ">"


class Tokenizer:
    def __init__(self, tokens: Sequence[str]):
        if tuple(tokens[: len(SPECIALS)]) != SPECIALS:
            raise ModelError("vocabulary does not start with poetgen's special tokens")
        if len(set(tokens)) != len(tokens):
            raise ModelError("vocabulary has duplicate tokens")
        self.tokens = list(tokens)
        self.index = {tok: i for i, tok in enumerate(self.tokens)}
        self.n_special = len(SPECIALS)
        while self.n_special < len(self.tokens) and _is_special(self.tokens[self.n_special]):
            self.n_special += 1
        if tuple(tokens[self.n_special : self.n_special + len(PUNCTUATION)]) != PUNCTUATION:
            raise ModelError("vocabulary does not have the line marks right after its special tokens")
        self.pad, self.unk, self.bos, self.eos = (self.index[t] for t in (PAD, UNK, BOS, EOS))
        self.comma, self.period = self.index["，"], self.index["。"]
        self.first_char = self.n_special + len(PUNCTUATION)  # ids from here on are characters
        # Tokens that may open a poem after <bos>: forms, collections, <词>, tunes.
        self.form_ids = frozenset(range(len(SPECIALS) - len(FORM_TOKENS), self.n_special))
        self.conditioned = all(t in self.index for t in COLLECTION_TOKENS)
        self.tunes = tuple(t[len("<词牌:"):-1] for t in self.tokens[: self.n_special] if t.startswith("<词牌:"))

    @classmethod
    def build(cls, texts: Iterable[str], min_count: int = 3, tunes: Iterable[str] | None = None) -> Tokenizer:
        """Characters seen at least `min_count` times, most frequent first, ties by code point.
        With `tunes` (the 词牌 of the training ci, one per ci), a format-2 vocabulary: collection
        tokens, <词>, and a token for each tune of at least MIN_TUNE_POEMS ci, most written first."""
        counts = Counter(ch for text in texts for ch in text if is_han(ch))
        chars = sorted((c for c, n in counts.items() if n >= min_count), key=lambda c: (-counts[c], c))
        conditions: list[str] = []
        if tunes is not None:
            tune_counts = Counter(t for t in tunes if t)
            common = sorted((t for t, n in tune_counts.items() if n >= MIN_TUNE_POEMS),
                            key=lambda t: (-tune_counts[t], t))
            conditions = [*COLLECTION_TOKENS, CI_TOKEN, *(tune_token(t) for t in common)]
        return cls([*SPECIALS, *conditions, *PUNCTUATION, *chars])

    def __len__(self) -> int:
        return len(self.tokens)

    def form_token(self, form: str) -> int:
        return self.index[f"<{form}>"]

    def opening(self, form: str, collection: str = TANG, cipai: str = "") -> list[int]:
        """The tokens after <bos> that ask for a poem of this form (or ci of this tune), in the
        manner of this collection. A format-1 vocabulary knows forms only."""
        if not self.conditioned:
            return [self.form_token(form if f"<{form}>" in self.index else OTHER)]
        if form == CI:
            return [self.index[f"<{collection}>"], self.index.get(tune_token(cipai), self.index[CI_TOKEN])]
        return [self.index[f"<{collection}>"], self.form_token(form)]

    def row_opening(self, row: dict) -> list[int]:
        """The opening of a corpus row (collection, form, and 词牌 for a ci)."""
        return self.opening(row["form"], row.get("collection", TANG), row.get("cipai", ""))

    def encode(self, text: str, form: str | None = None, bos: bool = True, eos: bool = True,
               opening: Sequence[int] | None = None, reverse: bool = False) -> list[int]:
        """Ids of `text` (read last character first when `reverse`), after <bos> and the opening
        (given, or the form's alone)."""
        ids = [self.bos] if bos else []
        if opening is not None:
            ids.extend(opening)
        elif form is not None:
            ids.append(self.form_token(form))
        ids.extend(self.index.get(ch, self.unk) for ch in (text[::-1] if reverse else text))
        if eos:
            ids.append(self.eos)
        return ids

    def decode(self, ids: Iterable[int]) -> str:
        """Text of the characters and line marks; special tokens are left out."""
        return "".join(self.tokens[i] for i in ids if i >= self.n_special)

    def missing(self, text: str) -> list[str]:
        """Characters of `text` the vocabulary lacks, in order of first appearance."""
        return list(dict.fromkeys(ch for ch in text if ch not in self.index))

    def save(self, path: str | Path) -> None:
        version = VOCAB_FORMATS[1] if self.conditioned else VOCAB_FORMATS[0]
        atomic_write_json(path, {"format": version, "tokens": self.tokens})

    @classmethod
    def load(cls, path: str | Path) -> Tokenizer:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ModelError(f"vocabulary file not found: {path}") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ModelError(f"vocabulary file {path} is unreadable: {e}") from None
        if not isinstance(data, dict) or data.get("format") not in VOCAB_FORMATS:
            raise ModelError(f"{path} is not a poetgen vocabulary ({' or '.join(VOCAB_FORMATS)})")
        tokens = data.get("tokens")
        if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
            raise ModelError(f"{path}: 'tokens' must be a list of strings")
        return cls(tokens)
