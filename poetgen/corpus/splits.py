"""The prepared corpus as the other layers read it: its train and valid splits (gzipped
JSON lines), their texts and the corpus's hash."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from pathlib import Path

from ..errors import CorpusError
from ..text.forms import POEM_TEXT, TANG


def corpus_hash_of(train_text: str, valid_text: str) -> str:
    h = hashlib.sha256()
    for text in (train_text, valid_text):
        h.update(hashlib.sha256(text.encode("utf-8")).digest())
    return h.hexdigest()


def split_path(corpus_dir: str | Path, split: str) -> Path | None:
    """The split's file: gzipped as shipped, or plain JSONL (a hand-made corpus)."""
    for name in (f"{split}.jsonl.gz", f"{split}.jsonl"):
        path = Path(corpus_dir) / name
        if path.is_file():
            return path
    return None


def read_split_text(corpus_dir: str | Path, split: str) -> str:
    path = split_path(corpus_dir, split)
    if path is None:
        raise CorpusError(f"corpus file not found: {Path(corpus_dir) / split}.jsonl.gz (run `poetgen prepare` first)")
    try:
        data = path.read_bytes()
        return (gzip.decompress(data) if path.suffix == ".gz" else data).decode("utf-8")
    except (OSError, EOFError, gzip.BadGzipFile, UnicodeDecodeError) as e:
        raise CorpusError(f"{path} is unreadable: {e}") from None


_TEXT_FIELD = re.compile(r'"text": "([^"\\]*)"')


def corpus_texts(split_text: str) -> list[str]:
    """The poem texts of a split's JSONL, read without parsing each row (a text holds only Han
    characters and ，。, never a quote): a fifth of the time of json.loads, at every start-up."""
    return _TEXT_FIELD.findall(split_text)


def corpus_hash(corpus_dir: str | Path) -> str:
    return corpus_hash_of(read_split_text(corpus_dir, "train"), read_split_text(corpus_dir, "valid"))


def load_split(corpus_dir: str | Path, split: str) -> list[dict]:
    path = split_path(corpus_dir, split)
    rows = []
    for lineno, line in enumerate(read_split_text(corpus_dir, split).splitlines(), 1):
        try:
            row = json.loads(line)
            text = row["text"]
        except (json.JSONDecodeError, KeyError, TypeError):
            raise CorpusError(f"{path}:{lineno}: not a corpus row with a 'text'") from None
        if not isinstance(text, str) or not POEM_TEXT.match(text):
            raise CorpusError(f"{path}:{lineno}: text is not clean poem text")
        row.setdefault("collection", TANG)  # a corpus from before the Song collections
        rows.append(row)
    return rows
