"""A blind reading test: poems of Tang and Song poets and poems written by poetgen, shown alike to
readers (people, or human-like reader agents) who rate them; then the figures per source.

    python -m benchmarks.readers make --out DIR --per-source 8 --seed 1 --source default='{}'
    python -m benchmarks.readers score --dir DIR ratings1.jsonl ratings2.jsonl
    python -m benchmarks.readers proxies --dir DIR [--backward MODEL_DIR]

**make** picks N poems of the validation split (`corpus/valid.jsonl.gz`, never trained on): a
cycle of 唐诗, 宋诗 and 宋词 items; each collection's shi cycle through 五绝/七绝/五律/七律 and the
ci through COMMON_TUNES (a ci only in its tune's main shape, the one poetgen writes), all in an
order drawn from the seed. A poem is picked only if the model's vocabulary (of --model) holds all
its characters, since a rare character the model cannot write would give the poet away, and
none with 囗, which stands for a lost character in some corpus texts. Each machine source then
writes one poem in the form or tune of each human item (`--source NAME=JSON`: the `Poet.write`
parameters, `{}` the API's defaults; the style follows the human item's collection, 唐 or 宋,
unless the JSON sets it; every item has its own seed), or reads its poems from a file
(`--source NAME=@poems.json`, a list of {"form", "cipai", "text"}: poems matching a human item's
form and tune are taken for it first, then the rest in file order). Without --source, one
source `default` with the API's defaults.

Every item is shown alike: editorial brackets stripped, simplified characters (`Script.display`,
which keeps a character traditional where its simplified form is outside the common CJK blocks),
one 句 per line split after ，。；？！ (a ci without its stanza break: the corpus does not mark
it, so only machine ci would have one), headed by its number and its form or 词牌 only. All
items are shuffled together. `items.md` is what readers see; `key.json` what they must not.

**score** joins ratings files (one JSON line per item, as the header of items.md asks) with the
key: per source the items and ratings, the mean of 通顺 fluency, 连贯 coherence, 意义 meaning,
诗意 poeticness and of their mean (overall), the share of ratings that took the item for a
poet's, and the spread between readers (each reader's overall mean on that source, min–max).
A ratings file with a missing, duplicate or unknown item, or a score not a whole number 1–5, is
refused by name.

**proxies** needs no readers, per source:
- repeated characters: per poem, the number of distinct characters (line marks aside) that
  occur more than once (萧萧 counts one), on the traditional text;
- season clash: SEASON_WORDS below are matched in the simplified text after MASKED phrases (青春,
  春秋, 千秋, white hair as 霜鬓...) are blanked out. A poem clashes when it names words of more
  than two seasons, or of two seasons that are not neighbours (春 with 秋, 夏 with 冬); a poem of
  春 and 夏 (late spring) or 秋 and 冬 does not. The share of poems that clash is reported;
- likelihood: the forward model's mean log-probability per character (line marks and the end
  token aside, as evaluate.py counts characters) of each traditional text, under its
  collection/form or 词牌 opening, averaged over the source's poems; with --backward, that of a
  backward model too (it reads the text reversed after the same opening).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import statistics
import sys
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from poetgen.corpus.prepare import strip_notes
from poetgen.corpus.splits import load_split
from poetgen.defaults import default_corpus_dir, default_model_dir
from poetgen.errors import PoetgenError
from poetgen.model.tokenizer import Tokenizer
from poetgen.text.forms import CI, FORMS, SONG, SONGCI, TANG, is_han, split_lines
from poetgen.writing.penalties import repeated_chars, season_clash, seasons_of

KEY_FORMAT = "poetgen-readers-1"
HUMAN = "human"
COMMON_TUNES = ("浣溪沙", "菩萨蛮", "鹧鸪天", "蝶恋花", "点绛唇", "临江仙", "西江月", "减字木兰花", "清平乐", "虞美人")
STYLE_OF = {TANG: "唐", SONG: "宋"}
COLLECTION_OF_STYLE = {"唐": TANG, "宋": SONG}
# The slot fixes these; a source's JSON may not (script: the key keeps the model's characters).
RESERVED = ("form", "cipai", "seed", "n", "script")
MAX_SEED = 2**31 - 2
MARKS = "，。；？！"
LOST = "囗"  # stands for a lost character in some corpus texts (the cleaning misses it)
CRITERIA = ("fluency", "coherence", "meaning", "poeticness")
CRITERIA_ZH = {"fluency": "通顺", "coherence": "连贯", "meaning": "意义", "poeticness": "诗意"}
NAME_RE = re.compile(r"^[A-Za-z0-9_.-]+$")


HEADER = """# 诗词盲评

下面共 {count} 首诗词。其中一些是电脑程序写的，一些是唐宋诗人写的。每首只标出题号和体裁（或词牌），
不标题目、作者和出处，顺序是打乱的。请不要查找原诗，只凭阅读判断。

请给每一首按下面四项各打一个分（1 到 5 的整数，5 最好）：

- 通顺 fluency：字句是否通顺，合乎文言语法，没有生造的词和不通的搭配；
- 连贯 coherence：句与句、联与联是否相接，全篇是否围绕一个情境或意思展开；
- 意义 meaning：能否读出确定的意思，意思是否可解、不自相矛盾；
- 诗意 poeticness：意象、情味和语言之美，是不是一首好诗。

再判断它出自诗人（"human": true）还是电脑程序（"human": false），并写一句简短的评语（note）。

**答题格式**：答案写进一个评分文件（如 ratings.jsonl），每首一行 JSON，共 {count} 行，不写别的内容：

    {{"item": 1, "fluency": 4, "coherence": 3, "meaning": 3, "poeticness": 4, "human": true, "note": "尾联稍弱"}}

每一首都要答；四项分数只能是 1、2、3、4、5；human 只能是 true 或 false；item 是题号。

(In English: some of these poems were written by a computer program and some by Tang and Song
poets. Rate each item 1-5 on fluency, coherence, meaning and poeticness, say whether a poet
(human: true) or the program (human: false) wrote it, add a short note, and write one JSON line
per item, as above, to a ratings file.)
"""


class ReadersError(ValueError):
    """A bad argument or file, named in one line."""


@dataclass(frozen=True)
class Slot:
    """What one human item is, and so what each machine source writes for it."""

    collection: str  # 唐诗, 宋诗 or 宋词
    form: str  # 五绝, 七绝, 五律, 七律 or 词
    cipai: str = ""

    @property
    def label(self) -> str:
        return self.cipai or self.form


@dataclass(frozen=True)
class Source:
    name: str
    params: dict | None = None  # Poet.write parameters, or
    path: Path | None = None  # a JSON file of poems


# ----------------------------------------------------------------------------- display


def plain_text(text: str) -> str:
    """The text without editorial notes, restored-character brackets, quotes or layout."""
    text = strip_notes(text)
    text = re.sub(r"\[([^\[\]]*)\]", r"\1", text)  # [還] marks an editor's restored character
    return re.sub(r"[\s「」『』《》〈〉“”‘’]", "", text)


@cache
def _opencc(config: str):
    import opencc

    return opencc.OpenCC(config)


@cache
def _script():
    from poetgen.text.script import Script

    return Script({})  # display needs no vocabulary


def display_lines(text: str) -> list[str]:
    """How every item is shown: simplified, one 句 per line with its mark."""
    shown = _script().display(plain_text(text), "simplified")
    return re.findall(f"[^{MARKS}]+[{MARKS}]?", shown)


def to_traditional(text: str) -> str:
    """A file poem in the corpus's characters: a text with any traditional-only character is
    taken as traditional already (s2t would turn a deliberate 后 into 後); else OpenCC s2t."""
    text = plain_text(text)
    if _opencc("t2s").convert(text) != text:
        return text
    return _opencc("s2t").convert(text)


# ----------------------------------------------------------------------------- make: choosing


def plan_slots(count: int, seed: int) -> list[Slot]:
    """`count` slots cycling 唐诗, 宋诗, 宋词 (in a seeded order); each collection's shi cycle
    through the four forms and the ci through the common tunes, each in its own seeded order."""
    rng = random.Random(f"{seed}:slots")
    kinds = [TANG, SONG, SONGCI]
    rng.shuffle(kinds)
    cycles = {TANG: list(FORMS), SONG: list(FORMS), SONGCI: list(COMMON_TUNES)}
    for cycle in cycles.values():
        rng.shuffle(cycle)
    used: Counter = Counter()
    slots = []
    for i in range(count):
        kind = kinds[i % len(kinds)]
        pick = cycles[kind][used[kind] % len(cycles[kind])]
        used[kind] += 1
        slots.append(Slot(SONGCI, CI, pick) if kind == SONGCI else Slot(kind, pick))
    return slots


@cache
def main_shape(cipai: str) -> tuple[int, ...]:
    """A tune's most written shape: the one poetgen writes, so readers compare like with like."""
    from poetgen.verse.tunes import find

    return tuple(find(cipai).lengths)


def fits_slot(row: dict, slot: Slot, known: frozenset[str]) -> bool:
    if row["collection"] != slot.collection or row["form"] != slot.form:
        return False
    if LOST in row["text"] or not known.issuperset(row["text"]):
        return False
    if slot.form != CI:
        return True
    return row.get("cipai") == slot.cipai and tuple(len(x) for x in split_lines(row["text"])) == main_shape(slot.cipai)


def pick_human(rows: list[dict], slots: list[Slot], seed: int, known: frozenset[str]) -> list[dict]:
    """One validation poem per slot, none twice, drawn by the seed, among those whose characters
    the model knows (a rare character the model cannot write would give the poet away)."""
    rng = random.Random(f"{seed}:human")
    taken: set[int] = set()
    items = []
    for slot in slots:
        candidates = [i for i, row in enumerate(rows) if i not in taken and fits_slot(row, slot, known)]
        if not candidates:
            raise ReadersError(f"no validation poem left for {slot.collection} {slot.label}: lower --per-source")
        i = rng.choice(candidates)
        taken.add(i)
        row = rows[i]
        items.append({"source": HUMAN, "collection": slot.collection, "form": slot.form, "cipai": slot.cipai,
                      "text": row["text"], "author": row.get("author", ""), "title": row.get("title", "")})
    return items


def item_seed(seed: int, source: str, index: int, used: set[int]) -> int:
    """A seed of its own for each machine item, stable when other sources are added."""
    digest = hashlib.sha256(f"{seed}/{source}/{index}".encode()).digest()
    value = int.from_bytes(digest[:8], "big") % (MAX_SEED + 1)
    while value in used:
        value = (value + 1) % (MAX_SEED + 1)
    used.add(value)
    return value


# ----------------------------------------------------------------------------- make: machine items


def parse_source(arg: str) -> Source:
    name, sep, spec = arg.partition("=")
    if not sep or not NAME_RE.match(name):
        raise ReadersError(f"--source {arg!r}: give NAME=JSON or NAME=@file.json, NAME of letters, digits, _.-")
    if name == HUMAN:
        raise ReadersError(f"--source {name}: the name {HUMAN!r} is the poets' own")
    if spec.startswith("@"):
        return Source(name, path=Path(spec[1:]))
    try:
        params = json.loads(spec)
    except json.JSONDecodeError as e:
        raise ReadersError(f"--source {name}: not JSON: {e}") from None
    if not isinstance(params, dict):
        raise ReadersError(f"--source {name}: the parameters must be a JSON object")
    fixed = sorted(set(params) & set(RESERVED))
    if fixed:
        raise ReadersError(f"--source {name}: {', '.join(fixed)} come from the human items, not the source")
    from poetgen.writing.params import WriteParams

    WriteParams.of(**{k: v for k, v in params.items() if k != "rerank"})  # names an unknown parameter now
    return Source(name, params=params)


def write_items(poet, source: Source, slots: list[Slot], seed: int, used: set[int]) -> list[dict]:
    """One poem per slot from the model, in the model's (traditional) characters."""
    items = []
    for index, slot in enumerate(slots):
        params = dict(source.params)
        if slot.form == CI:
            params["cipai"] = slot.cipai
        else:
            params = {"style": STYLE_OF[slot.collection], **params, "form": slot.form}
        s = item_seed(seed, source.name, index, used)
        poem = poet.write(n=1, seed=s, script="traditional", **params)[0]
        collection = SONGCI if slot.form == CI else COLLECTION_OF_STYLE.get(params.get("style"), slot.collection)
        items.append({"source": source.name, "collection": collection, "form": slot.form, "cipai": slot.cipai,
                      "text": "".join(poem.text.split()), "seed": s, "id": poem.id, "params": source.params,
                      "slot": index})
    return items


def read_poem_file(source: Source) -> list[dict]:
    try:
        poems = json.loads(source.path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ReadersError(f"--source {source.name}: cannot read {source.path}: {e}") from None
    if not isinstance(poems, list):
        raise ReadersError(f"--source {source.name}: {source.path} must hold a list of poems")
    for k, poem in enumerate(poems, 1):
        ok = isinstance(poem, dict) and isinstance(poem.get("text"), str) and plain_text(poem["text"])
        ok = ok and poem.get("form") in (*FORMS, CI, "其他") and isinstance(poem.get("cipai", ""), str)
        if not ok or (poem["form"] == CI and not poem.get("cipai")):
            raise ReadersError(f"--source {source.name}: poem {k} of {source.path} needs a form "
                               f"({'/'.join(FORMS)}/其他/词), a text, and a cipai for a 词")
    return poems


def canonical_tune(cipai: str) -> str:
    """The 词谱's spelling of a tune (either script given), or the name as given."""
    from poetgen.verse.tunes import find

    try:
        return find(cipai).name if cipai else ""
    except PoetgenError:
        return cipai


def file_items(source: Source, slots: list[Slot]) -> list[dict]:
    """Up to one poem per slot from the file: the first unused poem of the slot's form and tune,
    then the file's remaining poems in order for the slots left."""
    poems = read_poem_file(source)
    tunes = [canonical_tune(p.get("cipai", "")) if p["form"] == CI else "" for p in poems]
    free = list(range(len(poems)))
    chosen: list[tuple[int, int | None]] = []  # (poem, the index of the slot it fills)
    for index, slot in enumerate(slots):
        match = next((k for k in free if poems[k]["form"] == slot.form and tunes[k] == slot.cipai), None)
        if match is not None:
            free.remove(match)
            chosen.append((match, index))
    chosen += [(k, None) for k in free[: len(slots) - len(chosen)]]
    if len(chosen) < len(slots):
        print(f"note: source {source.name} has {len(chosen)} poems, not {len(slots)}", file=sys.stderr)
    items = []
    for k, index in sorted(chosen, key=lambda pair: pair[0]):
        poem = poems[k]
        default = SONGCI if poem["form"] == CI else TANG
        collection = poem.get("collection") or (slots[index].collection if index is not None else default)
        item = {"source": source.name, "collection": collection, "form": poem["form"], "cipai": tunes[k],
                "text": to_traditional(poem["text"]), "file_index": k}
        items.append(item if index is None else {**item, "slot": index})  # a poem filling no slot pairs with none
    return items


# ----------------------------------------------------------------------------- make: writing the set


def render_items(items: list[dict]) -> str:
    """What readers see: the header, then each item's number, its form or tune, its lines."""
    parts = [HEADER.format(count=len(items))]
    for number, item in enumerate(items, 1):
        parts.append(f"## {number} · {item['cipai'] or item['form']}\n\n" + "\n".join(item["shown"]) + "\n")
    return "\n".join(parts)


def build_items(args: argparse.Namespace, sources: list[Source]) -> list[dict]:
    corpus = Path(args.corpus) if args.corpus else default_corpus_dir()
    if corpus is None:
        raise ReadersError("no corpus found: pass --corpus (the folder holding valid.jsonl.gz)")
    model_dir = Path(args.model) if args.model else default_model_dir()
    known = frozenset(Tokenizer.load(model_dir / "vocab.json").index)
    slots = plan_slots(args.per_source, args.seed)
    items = pick_human(load_split(corpus, "valid"), slots, args.seed, known)
    poet, used = None, set()
    for source in sources:
        if source.path is not None:
            items += file_items(source, slots)
            continue
        if poet is None:  # the model loads only for a source that writes
            from poetgen import Poet

            poet = Poet.load(model_dir, corpus)
        items += write_items(poet, source, slots, args.seed, used)
    items = merge_same_poems(items)
    random.Random(f"{args.seed}:shuffle").shuffle(items)
    for item in items:
        item["shown"] = display_lines(item["text"])
    return items


def merge_same_poems(items: list[dict]) -> list[dict]:
    """One item for a poem that several machine sources wrote (sources that differ only in how
    they choose among the same drafts, `reader_sources --paired`): readers see it once, and its
    ratings count for each of them ("also")."""
    merged, first = [], {}
    for item in items:
        same = (item["form"], item["cipai"], item["text"], item.get("slot"))
        kept = first.get(same)
        if item["source"] == HUMAN or kept is None or item["source"] in sources_of(kept):
            if item["source"] != HUMAN:
                first.setdefault(same, item)
            merged.append(item)
        else:
            kept.setdefault("also", []).append(item["source"])
    return merged


def sources_of(item: dict) -> list[str]:
    return [item["source"], *item.get("also", [])]


def make(args: argparse.Namespace) -> None:
    if args.per_source < 1:
        raise ReadersError("--per-source must be at least 1")
    sources = [parse_source(s) for s in args.source] or [Source("default", params={})]
    if len({s.name for s in sources}) != len(sources):
        raise ReadersError("two --source options have the same name")
    out = Path(args.out)
    if (out / "key.json").exists() and not args.force:
        raise ReadersError(f"{out / 'key.json'} exists (ratings may refer to it): pass --force to replace it")
    items = build_items(args, sources)
    out.mkdir(parents=True, exist_ok=True)
    key = {"format": KEY_FORMAT, "seed": args.seed, "per_source": args.per_source,
           "sources": [HUMAN, *(s.name for s in sources)],
           "specs": {s.name: (f"@{s.path}" if s.path else s.params) for s in sources},
           "items": {str(number): item for number, item in enumerate(items, 1)}}
    (out / "items.md").write_text(render_items(items), encoding="utf-8")
    (out / "key.json").write_text(json.dumps(key, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    counts = Counter(source for item in items for source in sources_of(item))
    print(f"{len(items)} items ({', '.join(f'{n} {s}' for s, n in counts.items())}) -> "
          f"{out / 'items.md'} (for readers), {out / 'key.json'} (not for readers)")


# ----------------------------------------------------------------------------- score


def load_key(directory: str | Path) -> dict:
    path = Path(directory) / "key.json"
    try:
        key = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ReadersError(f"cannot read {path}: {e}") from None
    if not isinstance(key, dict) or key.get("format") != KEY_FORMAT:
        raise ReadersError(f"{path} is not a key written by `benchmarks.readers make`")
    return key


def check_rating(row: object, numbers: set[int], where: str) -> dict:
    if not isinstance(row, dict):
        raise ReadersError(f"{where}: not a JSON object")
    item = row.get("item")
    if isinstance(item, bool) or not isinstance(item, int) or item not in numbers:
        raise ReadersError(f"{where}: unknown item {item!r} (items are 1 to {len(numbers)})")
    for name in CRITERIA:
        value = row.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
            raise ReadersError(f"{where}: item {item}: {name} must be a whole number from 1 to 5, got {value!r}")
    if not isinstance(row.get("human"), bool):
        raise ReadersError(f"{where}: item {item}: human must be true or false, got {row.get('human')!r}")
    if not isinstance(row.get("note", ""), str):
        raise ReadersError(f"{where}: item {item}: note must be text")
    return row


def read_ratings(path: str | Path, numbers: set[int]) -> dict[int, dict]:
    """One reader's ratings by item number; refused whole if anything is wrong with them."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise ReadersError(f"ratings {path}: cannot read: {e}") from None
    ratings: dict[int, dict] = {}
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"ratings {path}: line {lineno}"
        try:
            row = check_rating(json.loads(line), numbers, where)
        except json.JSONDecodeError as e:
            raise ReadersError(f"{where}: not JSON: {e}") from None
        if row["item"] in ratings:
            raise ReadersError(f"{where}: item {row['item']} rated twice")
        ratings[row["item"]] = row
    missing = sorted(numbers - set(ratings))
    if missing:
        raise ReadersError(f"ratings {path}: missing items {', '.join(map(str, missing))}")
    return ratings


def overall(rating: dict) -> float:
    return sum(rating[c] for c in CRITERIA) / len(CRITERIA)


def summarize(key: dict, readers: dict[str, dict[int, dict]]) -> list[dict]:
    """Per source: items, ratings, each criterion's mean, the overall mean, the share taken for
    human, and each reader's overall mean (with their min and max)."""
    items = {int(k): v for k, v in key["items"].items()}
    rows = []
    for source in key["sources"]:
        numbers = sorted(n for n, item in items.items() if source in sources_of(item))
        pairs = [(name, ratings[n]) for name, ratings in readers.items() for n in numbers]
        if not pairs:
            continue
        row = {"source": source, "items": len(numbers), "ratings": len(pairs)}
        for c in CRITERIA:
            row[c] = statistics.fmean(r[c] for _, r in pairs)
        row["overall"] = statistics.fmean(overall(r) for _, r in pairs)
        row["human_share"] = sum(r["human"] for _, r in pairs) / len(pairs)
        row["readers"] = {name: statistics.fmean(overall(ratings[n]) for n in numbers)
                          for name, ratings in readers.items()}
        row["reader_min"], row["reader_max"] = min(row["readers"].values()), max(row["readers"].values())
        rows.append(row)
    return rows


def paired(key: dict, readers: dict[str, dict[int, dict]]) -> list[dict]:
    """Each machine source against the first, slot by slot (the same form or tune, and with
    `reader_sources --paired` the same drafts): the mean difference of the readers' overall
    ratings, and the slots where the two chose the same poem, did better, did worse. Paired, the
    difference is free of the luck of which slots a source drew, which unpaired means are not."""
    machine = [s for s in key["sources"] if s != HUMAN]
    mean = {}
    for number, item in key["items"].items():
        if "slot" in item:
            for source in sources_of(item):
                mean[source, item["slot"]] = (int(number), statistics.fmean(
                    overall(ratings[int(number)]) for ratings in readers.values()))
    rows = []
    for source in machine[1:]:
        slots = sorted(slot for s, slot in mean if s == source and (machine[0], slot) in mean)
        if not slots:
            continue
        diffs = [mean[source, slot][1] - mean[machine[0], slot][1] for slot in slots]
        same = sum(mean[source, slot][0] == mean[machine[0], slot][0] for slot in slots)
        rows.append({"source": source, "base": machine[0], "slots": len(slots), "same": same,
                     "difference": statistics.fmean(diffs), "better": sum(d > 0 for d in diffs),
                     "worse": sum(d < 0 for d in diffs)})
    return rows


def markdown_table(header: list[str], body: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    return "\n".join(lines + ["| " + " | ".join(cells) + " |" for cells in body])


def score_table(rows: list[dict], n_readers: int) -> str:
    header = ["source", "items", "ratings", *(f"{CRITERIA_ZH[c]} {c}" for c in CRITERIA), "overall",
              "taken for human", f"readers' overall, min–max ({n_readers})"]
    body = [[r["source"], str(r["items"]), str(r["ratings"]), *(f"{r[c]:.2f}" for c in CRITERIA),
             f"**{r['overall']:.2f}**", f"{r['human_share']:.0%}", f"{r['reader_min']:.2f}–{r['reader_max']:.2f}"]
            for r in rows]
    return markdown_table(header, body)


def reader_names(paths: list[str]) -> list[str]:
    """Readers by file name; the whole path where two files share a name."""
    stems = [Path(p).stem for p in paths]
    return [stem if stems.count(stem) == 1 else str(p) for stem, p in zip(stems, paths)]


def score(args: argparse.Namespace) -> None:
    key = load_key(args.dir)
    numbers = {int(k) for k in key["items"]}
    readers = {name: read_ratings(path, numbers) for name, path in zip(reader_names(args.ratings), args.ratings)}
    rows = summarize(key, readers)
    if args.json:
        print(json.dumps({"sources": rows, "paired": paired(key, readers)}, ensure_ascii=False, indent=1))
        return
    for r in rows:
        per_reader = ", ".join(f"{name} {value:.2f}" for name, value in r["readers"].items())
        print(f"{r['source']}: {r['items']} items, {r['ratings']} ratings; "
              + ", ".join(f"{c} {r[c]:.2f}" for c in CRITERIA)
              + f"; overall {r['overall']:.2f}; taken for human {r['human_share']:.0%}; readers {per_reader}")
    print()
    print(score_table(rows, len(readers)))
    for p in paired(key, readers):
        print(f"paired, {p['source']} − {p['base']}: {p['difference']:+.2f} over {p['slots']} slots "
              f"({p['same']} the same poem; better on {p['better']}, worse on {p['worse']})")


# ----------------------------------------------------------------------------- proxies


def likelihoods(model_dir: str | Path, items: list[dict], want_backward: bool) -> tuple[list[float], list[int]]:
    """Each text's mean log-probability per character under the model (and the count of
    characters the model's vocabulary lacks), read as the model's direction asks."""
    import numpy as np

    from poetgen.model.evaluate import token_nll
    from poetgen.model.network import load_model_dir

    model, config, tok = load_model_dir(model_dir)
    if config.reverse != want_backward:
        raise ReadersError(f"{model_dir} reads {config.direction}: give it as "
                           f"{'--backward' if config.reverse else '--model'}")
    seqs = [np.asarray(tok.encode(it["text"], opening=tok.opening(it["form"], it["collection"], it["cipai"]),
                                  reverse=config.reverse), np.int32) for it in items]
    nlls = token_nll(model, seqs, tok.pad)
    scores = []
    for seq, nll in zip(seqs, nlls):
        targets = seq[1:]
        is_char = (targets >= tok.first_char) | (targets == tok.unk)
        scores.append(-float(nll[is_char].mean()))
    return scores, [sum(1 for ch in it["text"] if is_han(ch) and ch not in tok.index) for it in items]


def proxy_rows(key: dict, model_dir: Path, backward: str | None) -> list[dict]:
    items = [key["items"][k] for k in sorted(key["items"], key=int)]
    forward, unknown = likelihoods(model_dir, items, want_backward=False)
    back = likelihoods(backward, items, want_backward=True)[0] if backward else None
    rows = []
    for source in key["sources"]:
        idx = [i for i, it in enumerate(items) if source in sources_of(it)]
        if not idx:
            continue
        clashes = [season_clash(seasons_of("".join(items[i]["shown"]))) for i in idx]
        row = {"source": source, "poems": len(idx),
               "repeated_chars": statistics.fmean(repeated_chars(items[i]["text"]) for i in idx),
               "season_clash": sum(clashes) / len(idx), "clashing": sum(clashes),
               "forward_ll": statistics.fmean(forward[i] for i in idx),
               "unknown_chars": sum(unknown[i] for i in idx)}
        if back is not None:
            row["backward_ll"] = statistics.fmean(back[i] for i in idx)
        rows.append(row)
    return rows


def proxies(args: argparse.Namespace) -> None:
    key = load_key(args.dir)
    model_dir = Path(args.model) if args.model else default_model_dir()
    rows = proxy_rows(key, model_dir, args.backward)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    header = ["source", "poems", "repeated characters / poem", "season clash", "forward log-prob / char"]
    header += ["backward log-prob / char"] if args.backward else []
    header += ["characters outside the vocabulary"]
    body = []
    for r in rows:
        cells = [r["source"], str(r["poems"]), f"{r['repeated_chars']:.2f}",
                 f"{r['season_clash']:.0%} ({r['clashing']})", f"{r['forward_ll']:.3f}"]
        cells += [f"{r['backward_ll']:.3f}"] if args.backward else []
        body.append(cells + [str(r["unknown_chars"])])
    print(f"model: {model_dir}" + (f"; backward: {args.backward}" if args.backward else ""))
    print(markdown_table(header, body))


# ----------------------------------------------------------------------------- command line


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks.readers", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    m = sub.add_parser("make", help="write a blind set: items.md for readers, key.json for scoring")
    m.add_argument("--out", required=True)
    m.add_argument("--per-source", type=int, default=8, help="items per source (the poets are one source)")
    m.add_argument("--seed", type=int, default=1)
    m.add_argument("--source", action="append", default=[], metavar="NAME=SPEC",
                   help="a machine source: NAME='{json write parameters}' or NAME=@poems.json (repeatable)")
    m.add_argument("--model", default=None, help="model directory (default: the shipped model)")
    m.add_argument("--corpus", default=None, help="corpus directory (default: the repository's corpus/)")
    m.add_argument("--force", action="store_true", help="replace an existing key.json")
    s = sub.add_parser("score", help="figures per source from readers' ratings files")
    s.add_argument("--dir", required=True)
    s.add_argument("ratings", nargs="+")
    s.add_argument("--json", action="store_true",
                   help="print {sources: per-source rows, paired: differences from the first}")
    x = sub.add_parser("proxies", help="figures without readers: repetition, season clash, likelihood")
    x.add_argument("--dir", required=True)
    x.add_argument("--model", default=None, help="forward model directory (default: the shipped model)")
    x.add_argument("--backward", default=None, help="a backward model directory (config direction: backward)")
    x.add_argument("--json", action="store_true")
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    try:
        {"make": make, "score": score, "proxies": proxies}[args.command](args)
    except (ReadersError, PoetgenError) as e:
        print(f"readers: error: {e}", file=sys.stderr)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
