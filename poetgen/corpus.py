"""The corpus step: chinese-poetry JSON (traditional) -> a clean, split, labelled corpus.

The script stays traditional: the 平水韵 tables are traditional, and 繁->简 is a many-to-one
mapping that is lossless for display, whereas 简->繁 is ambiguous (後/后, 髮/發). The figures
behind this choice are printed by `benchmarks/script_choice.py`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

from .errors import CorpusError
from .files import atomic_write_json, atomic_write_text

FORMS = ("五绝", "七绝", "五律", "七律")
OTHER = "其他"
FORM_SHAPES = {(5, 4): "五绝", (7, 4): "七绝", (5, 8): "五律", (7, 8): "七律"}
SHAPE_OF_FORM = {form: shape for shape, form in FORM_SHAPES.items()}
LINE_END = "，。"
VALID_PERCENT = 3  # poems whose text hash falls in the first 3 of 100 buckets validate

# Han ideographs: URO, extension A, compatibility, and the supplementary planes (B..H).
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
HAN_RE = re.compile(f"[{_HAN}]")
_NOTES = [
    re.compile(r"（[^（）]*）"),
    re.compile(r"\([^()]*\)"),
    re.compile(r"〖[^〖〗]*〗"),
]
_RESTORED = re.compile(f"\\[([{_HAN}]+)\\]")  # [爽] marks an editor's restored character
_QUOTES = re.compile("[「」『』《》〈〉“”‘’\\s]")
_STOPS = str.maketrans({"？": "。", "！": "。", "；": "，", "：": "，", "、": "，"})
_PLACEHOLDERS = re.compile("[□■●○◎{}/＊*]")
_CLEAN = re.compile(f"^([{_HAN}]+[{LINE_END}])+$")
_SPLIT = re.compile(f"[{LINE_END}]")


def is_han(ch: str) -> bool:
    return HAN_RE.fullmatch(ch) is not None


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
    if not _CLEAN.match(text):
        return None, "residue"
    return text, ""


def split_lines(text: str) -> list[str]:
    """Lines (句) of a clean text, without their punctuation."""
    return [line for line in _SPLIT.split(text) if line]


def form_of(lines: list[str]) -> str:
    lengths = {len(line) for line in lines}
    if len(lengths) != 1:
        return OTHER
    return FORM_SHAPES.get((lengths.pop(), len(lines)), OTHER)


def join_lines(lines: list[str]) -> str:
    """Regulated text: ，after odd lines, 。after even ones."""
    return "".join(line + ("，" if i % 2 == 0 else "。") for i, line in enumerate(lines))


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


def source_files(source: str | Path) -> list[Path]:
    source = Path(source)
    folder = source / "quantangshi" if (source / "quantangshi").is_dir() else source
    if source.is_file():
        return [source]
    if not folder.is_dir():
        raise CorpusError(f"dataset folder not found: {source}")
    files = sorted(folder.glob("poet.*.json"), key=_file_order)
    if not files:
        raise CorpusError(f"no poet.*.json files in {folder} (expected the chinese-poetry layout)")
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


def iter_clean(files: Iterable[Path], stats: Counter) -> Iterator[dict]:
    seen: set[str] = set()
    for path in files:
        for poem in read_poems(path):
            stats["read"] += 1
            text, form, reason = normalize_poem(poem["paragraphs"])
            if text is None:
                stats[f"dropped_{reason}"] += 1
                continue
            if text in seen:
                stats["dropped_duplicate"] += 1
                continue
            seen.add(text)
            yield {
                "id": str(poem.get("id", "")),
                "author": str(poem.get("author", "")),
                "title": _QUOTES.sub("", strip_notes(str(poem.get("title", "")))),
                "form": form,
                "text": text,
            }


def _jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows)


def prepare(source: str | Path, out: str | Path) -> dict:
    """Clean, label and split the dataset at `source`; write train/valid JSONL and stats."""
    out = Path(out)
    files = source_files(source)
    counts: Counter = Counter()
    splits: dict[str, list[dict]] = {"train": [], "valid": []}
    for poem in iter_clean(files, counts):
        splits[split_of(poem["text"])].append(poem)
    if not splits["train"]:
        raise CorpusError(f"no usable poems in {source}")
    texts = {name: _jsonl(rows) for name, rows in splits.items()}
    chars: Counter = Counter(ch for row in splits["train"] for ch in row["text"] if is_han(ch))
    stats = {
        "source_files": len(files),
        "poems_read": counts.pop("read"),
        "dropped": dict(sorted(counts.items())),
        "poems": {name: len(rows) for name, rows in splits.items()},
        "forms": {
            name: dict(sorted(Counter(r["form"] for r in rows).items()))
            for name, rows in splits.items()
        },
        "train_han_chars": sum(chars.values()),
        "train_distinct_chars": len(chars),
        "corpus_sha256": corpus_hash_of(texts["train"], texts["valid"]),
        "script": "traditional",
        "valid_percent": VALID_PERCENT,
    }
    for name, text in texts.items():
        atomic_write_text(out / f"{name}.jsonl", text)
    atomic_write_json(out / "stats.json", stats)
    return stats


def corpus_hash_of(train_text: str, valid_text: str) -> str:
    h = hashlib.sha256()
    for text in (train_text, valid_text):
        h.update(hashlib.sha256(text.encode("utf-8")).digest())
    return h.hexdigest()


def corpus_hash(corpus_dir: str | Path) -> str:
    d = Path(corpus_dir)
    return corpus_hash_of(
        (d / "train.jsonl").read_text(encoding="utf-8"),
        (d / "valid.jsonl").read_text(encoding="utf-8"),
    )


def load_split(corpus_dir: str | Path, split: str) -> list[dict]:
    path = Path(corpus_dir) / f"{split}.jsonl"
    if not path.is_file():
        raise CorpusError(f"corpus file not found: {path} (run `poetgen prepare` first)")
    rows = []
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            try:
                row = json.loads(line)
                text = row["text"]
            except (json.JSONDecodeError, KeyError, TypeError):
                raise CorpusError(f"{path}:{lineno}: not a corpus row with a 'text'") from None
            if not isinstance(text, str) or not _CLEAN.match(text):
                raise CorpusError(f"{path}:{lineno}: text is not clean poem text")
            rows.append(row)
    return rows
