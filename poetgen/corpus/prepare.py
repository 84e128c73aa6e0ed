"""The corpus step: chinese-poetry JSON -> a clean, split, labelled corpus of three collections.

全唐诗 and 全宋诗 come in traditional characters, 全宋词 in simplified. The corpus is traditional:
the 平水韵 tables are traditional, and 繁->简 is a many-to-one mapping that is lossless for
display, whereas 简->繁 is ambiguous (後/后, 髮/發). The ci are brought into traditional with
OpenCC's phrase-aware s2t, and `stats.json` says how many of their characters were ambiguous.
The figures behind the script choice are printed by `benchmarks/script_choice.py`.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..errors import CorpusError
from ..files import atomic_write_bytes, atomic_write_json
from ..text.forms import (
    CI,
    HAN_RANGES,
    LINE_END,
    OTHER,
    POEM_TEXT,
    SONG,
    SONGCI,
    TANG,
    UNKNOWN_TUNE,
    form_of,
    is_han,
    join_lines,
    split_lines,
)
from ..text.script import converter
from .splits import corpus_hash_of

# Collection -> (folder in the dataset, file pattern, written in simplified characters).
# Read in this order, so a text the Song files repeat from the Tang files stays a Tang poem.
COLLECTIONS = {
    TANG: ("quantangshi", "poet.tang.*.json", False),
    SONG: ("quansongshi", "poet.song.*.json", False),
    SONGCI: ("songci", "ci.song.*.json", True),
}
VALID_PERCENT = 3  # poems whose text hash falls in the first 3 of 100 buckets validate
_NOTES = [
    re.compile(r"（[^（）]*）"),
    re.compile(r"\([^()]*\)"),
    re.compile(r"〖[^〖〗]*〗"),
    re.compile(r"〔[^〔〕]*〕"),
]
_RESTORED = re.compile(f"\\[([{HAN_RANGES}]+)\\]")  # [爽] marks an editor's restored character
_QUOTES = re.compile("[「」『』《》〈〉“”‘’\\s]")
_STOPS = str.maketrans({"？": "。", "！": "。", "；": "，", "：": "，", "、": "，"})
# Lost characters: boxes, {composed} characters, ideographic description sequences and the
# private use area (a font-specific glyph, not a character anyone can read).
_PLACEHOLDERS = re.compile("[□■●○◎{}/＊*\u2ff0-\u2fff\ue000-\uf8ff]")


def strip_notes(text: str) -> str:
    """Remove editorial notes in brackets, innermost first, so nested notes go too."""
    previous = None
    while previous != text:
        previous = text
        for pattern in _NOTES:
            text = pattern.sub("", text)
    return text


def clean_text(text: str) -> tuple[str | None, str]:
    """Return (clean text, "") or (None, reason the poem was dropped)."""
    text = strip_notes(text)
    text = _RESTORED.sub(r"\1", text)
    text = _QUOTES.sub("", text)
    if _PLACEHOLDERS.search(text):
        return None, "placeholder"
    text = text.translate(_STOPS)
    text = re.sub(f"[{LINE_END}]+(?=[{LINE_END}])", "", text)  # "，。" -> "。"
    text = text.lstrip(LINE_END)
    if not text:
        return None, "empty"
    if text[-1] == "，":
        text = text[:-1] + "。"
    elif text[-1] != "。":
        text += "。"
    if not POEM_TEXT.match(text):
        return None, "residue"
    return text, ""


def normalize_poem(paragraphs: list[str]) -> tuple[str | None, str, str]:
    """(clean text or None, form, drop reason). Regulated forms get canonical punctuation."""
    text, reason = clean_text("".join(paragraphs))
    if text is None:
        return None, OTHER, reason
    lines = split_lines(text)
    form = form_of(lines)
    if form != OTHER:
        text = join_lines(lines)
    return text, form, ""


def split_of(text: str) -> str:
    """Deterministic by content, so a poem never moves between train and valid."""
    bucket = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big") % 100
    return "valid" if bucket < VALID_PERCENT else "train"


def _file_order(path: Path) -> tuple[int, str]:
    digits = re.findall(r"\d+", path.name)
    return (int(digits[-1]) if digits else -1, path.name)


def source_files(source: str | Path) -> list[tuple[str, Path]]:
    """(collection, file) pairs in reading order. A folder in the dataset's layout gives all three
    collections it holds; a bare folder of poet.*.json files, or one such file, is Tang verse."""
    source = Path(source)
    if source.is_file():
        return [(TANG, source)]
    if not source.is_dir():
        raise CorpusError(f"dataset folder not found: {source}")
    files = [(name, path) for name, (folder, pattern, _) in COLLECTIONS.items()
             for path in sorted((source / folder).glob(pattern), key=_file_order)]
    if not files:
        files = [(TANG, path) for path in sorted(source.glob("poet.*.json"), key=_file_order)]
    if not files:
        raise CorpusError(f"no poem files in {source}: expected the chinese-poetry layout "
                          "(quantangshi/poet.tang.*.json, quansongshi/poet.song.*.json, songci/ci.song.*.json)")
    return files


def read_poems(path: Path) -> list[dict]:
    """A chinese-poetry JSON file: a list of objects each with a list of `paragraphs`."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise CorpusError(f"cannot read {path}: {e}") from None
    except json.JSONDecodeError as e:
        raise CorpusError(f"{path} is not valid JSON: {e.msg} at line {e.lineno}") from None
    if not isinstance(data, list):
        raise CorpusError(f"{path}: expected a JSON list of poems, got {type(data).__name__}")
    for i, poem in enumerate(data):
        paragraphs = poem.get("paragraphs") if isinstance(poem, dict) else None
        if not isinstance(paragraphs, list) or not all(isinstance(p, str) for p in paragraphs):
            raise CorpusError(f"{path}: poem {i} has no list of strings under 'paragraphs'")
    return data


def tune_name(rhythmic: object) -> str:
    """A 词牌 as the dataset spells it (simplified), without spaces; '' when unknown."""
    name = re.sub(r"\s", "", str(rhythmic or ""))
    return "" if name == UNKNOWN_TUNE else name


class ToTraditional:
    """OpenCC's s2t (it reads phrases, so 头发 -> 頭髮 but 发展 -> 發展), loaded once."""

    def __call__(self, text: str) -> str:
        return converter("s2t").convert(text)


def clean_row(poem: dict, collection: str, to_traditional: ToTraditional | None) -> tuple[dict | None, str]:
    """A corpus row of one dataset item, or (None, reason it was dropped)."""
    paragraphs = poem["paragraphs"]
    if to_traditional is not None:
        paragraphs = [to_traditional(p) for p in paragraphs]
    if collection == SONGCI:
        text, reason = clean_text("".join(paragraphs))
        form = CI
    else:
        text, form, reason = normalize_poem(paragraphs)
    if text is None:
        return None, reason
    # No dataset id: they are random UUIDs, a fifth of the compressed corpus, and no reader of
    # the corpus needs them (author and title say where a poem comes from).
    row = {
        "author": str(poem.get("author", "")),
        "title": _QUOTES.sub("", strip_notes(str(poem.get("title", "")))),
        "collection": collection,
        "form": form,
        "text": text,
    }
    if collection == SONGCI:
        row["cipai"] = tune_name(poem.get("rhythmic"))
        row["title"] = row["title"] or row["cipai"]
    return row, ""


def iter_clean(files: Iterable[tuple[str, Path]], stats: Counter) -> Iterator[dict]:
    """Clean rows in reading order; a text seen before, in any collection, is dropped."""
    from tqdm import tqdm

    seen: set[str] = set()
    to_traditional = None
    # A bar on a terminal only (tqdm's disable=None): the step reads some 1,300 files.
    for collection, path in tqdm(list(files), desc="reading the dataset", unit="file", disable=None):
        if COLLECTIONS[collection][2] and to_traditional is None:
            to_traditional = ToTraditional()
        for poem in read_poems(path):
            stats[(collection, "read")] += 1
            row, reason = clean_row(poem, collection, to_traditional if COLLECTIONS[collection][2] else None)
            if row is None:
                stats[(collection, f"dropped_{reason}")] += 1
            elif row["text"] in seen:
                stats[(collection, "dropped_duplicate")] += 1
            else:
                seen.add(row["text"])
                yield row


def _jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows)


def _gzip(text: str) -> bytes:
    # mtime=0 and no file name in the header: the same corpus gives the same bytes.
    return gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)


def ci_ambiguity(rows: list[dict]) -> dict:
    """How often 简->繁 had a choice for the ci: a ci character counts as ambiguous when its
    simplified form stands for two or more traditional characters used in the Tang and Song
    poems (干 for 乾/幹/干, 后 for 後/后...), i.e. where OpenCC had to pick by context."""
    t2s = converter("t2s").convert
    shi_chars = {ch for r in rows if r["collection"] != SONGCI for ch in r["text"] if is_han(ch)}
    sources: dict[str, set[str]] = {}
    for ch in shi_chars:
        sources.setdefault(t2s(ch), set()).add(ch)
    ambiguous = {s for s, trad in sources.items() if len(trad) > 1}
    ci_chars = Counter(ch for r in rows if r["collection"] == SONGCI for ch in r["text"] if is_han(ch))
    hits = sum(n for ch, n in ci_chars.items() if t2s(ch) in ambiguous)
    total = sum(ci_chars.values())
    return {
        "ambiguous_simplified_chars": len(ambiguous),
        "ci_chars": total,
        "ci_chars_ambiguous": hits,
        "ci_ambiguous_share": round(hits / total, 4) if total else 0.0,
    }


def corpus_stats(files: list, counts: Counter, splits: dict[str, list[dict]], texts: dict[str, str]) -> dict:
    rows = splits["train"] + splits["valid"]
    chars: Counter = Counter(ch for row in splits["train"] for ch in row["text"] if is_han(ch))
    by_collection: dict[str, dict] = {}
    for (collection, what), n in sorted(counts.items()):
        by_collection.setdefault(collection, {"dropped": {}})
        if what == "read":
            by_collection[collection]["read"] = n
        else:
            by_collection[collection]["dropped"][what] = n
    for collection, info in by_collection.items():
        for name, split_rows in splits.items():
            mine = [r for r in split_rows if r["collection"] == collection]
            info.setdefault("poems", {})[name] = len(mine)
            info.setdefault("forms", {})[name] = dict(sorted(Counter(r["form"] for r in mine).items()))
    tunes = Counter(r["cipai"] for r in splits["train"] if r.get("cipai"))
    return {
        "source_files": len(files),
        "poems_read": sum(n for (_, what), n in counts.items() if what == "read"),
        "poems": {name: len(split_rows) for name, split_rows in splits.items()},
        "collections": by_collection,
        "train_han_chars": sum(chars.values()),
        "train_distinct_chars": len(chars),
        "train_tunes": len(tunes),
        "train_top_tunes": dict(tunes.most_common(20)),
        "ci_conversion": ci_ambiguity(rows) if any(r["collection"] == SONGCI for r in rows) else {},
        "corpus_sha256": corpus_hash_of(texts["train"], texts["valid"]),
        "script": "traditional",
        "valid_percent": VALID_PERCENT,
    }


def prepare(source: str | Path, out: str | Path) -> dict:
    """Clean, label, deduplicate and split the dataset at `source`; write gzipped train/valid
    JSONL and stats.json. The same input gives byte-identical files."""
    out = Path(out)
    files = source_files(source)
    counts: Counter = Counter()
    splits: dict[str, list[dict]] = {"train": [], "valid": []}
    for poem in iter_clean(files, counts):
        splits[split_of(poem["text"])].append(poem)
    if not splits["train"]:
        raise CorpusError(f"no usable poems in {source}")
    texts = {name: _jsonl(rows) for name, rows in splits.items()}
    stats = corpus_stats(files, counts, splits, texts)
    for name, text in texts.items():
        atomic_write_bytes(out / f"{name}.jsonl.gz", _gzip(text))
        (out / f"{name}.jsonl").unlink(missing_ok=True)  # an older plain copy would shadow nothing, but mislead
    atomic_write_json(out / "stats.json", stats)
    return stats
