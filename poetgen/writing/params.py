"""What a write request asks for, as one frozen dataclass: its defaults are declared here
only, and a poem's id records it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

from ..errors import GenerationError

FREE = "free"
TONE_LEVELS = ("off", "rhyme", "strict")  # how strictly a poem keeps its 格律: the CLI, the page and ids read it
# Candidates per poem when searching (search.py); ids count places in such batches. Readers
# rated the best of 16 above the best of 8 (+0.30, +0.22: benchmarks/README.md, "Panels 9, 10").
SEARCH_WIDTH = 16
LINE_WIDTH = 8  # rows a poem in the line search: its ids are rebuilt by searching again, so it stays
LINE_BEAM = 2  # partial poems a line search keeps at each line's end (line_search.py)
# best: the best of several whole candidates by both models' score (search.py); lines: a beam
# line by line (line_search.py); off: one sample. Blind readers rated lines no better than best
# (benchmarks/README.md, "Panels 4 and 5").
SEARCHES = ("best", "lines", "off")
ID_SEARCHES = ("off", "lines")  # what an id records: a best-of-several poem's id names its candidate
DEFAULT_STYLE = "唐"


KIND_NAMES = {"str": "text", "str | None": "text or None", "float": "a number", "int": "a whole number",
              "bool": "true or false"}


def _of_kind(value, kind: str) -> bool:
    if value is None:
        return kind.endswith("| None")
    if isinstance(value, bool):
        return kind == "bool"
    if kind.startswith("str"):
        return isinstance(value, str)
    return isinstance(value, int) if kind == "int" else isinstance(value, (int, float)) and kind == "float"


@dataclass(frozen=True)
class WriteParams:
    start: str = ""  # opening text to continue (简 or 繁)
    form: str | None = None  # 五绝, 七绝, 五律, 七律 or free (None: a regulated form, from the acrostic's
    # length or one the start text fits, chosen by the seed)
    # Chosen by blind readers with search on: 0.5 and top-p 0.9 read better than 0.8 and 0.6
    # (benchmarks/README.md, "Readers"). Ids of pg5 and before were made over 0.8 and 1.0.
    temperature: float = 0.5  # 0: greedy
    top_k: int = 0  # 0: no cut
    top_p: float = 0.9  # 1: no cut
    script: str = "simplified"  # of the poems shown: simplified (what most readers read) or traditional
    max_tokens: int = 120  # length cap of a free poem
    acrostic: str = ""  # 藏头: a character opening each line
    tail: str = ""  # 藏尾: a character ending each line
    theme: str = ""  # free text; its jieba keywords pull the poem toward them
    rhyme: str | None = None  # a 平水韵 group; for a ci a 词林正韵 部 (None: the model chooses)
    tones: str | None = None  # off, rhyme or strict (None: strict for a regulated form, off for free)
    pattern: str | None = None  # e.g. 仄起首句不入韵 (None: chosen per poem)
    no_copy: bool = True  # no line verbatim from the corpus
    max_repeat: int = 2  # times a character may recur (0: no limit)
    style: str = DEFAULT_STYLE  # 唐 or 宋: the manner of the Tang or the Song poets (a ci: always Song)
    cipai: str | None = None  # a 词牌 (浣溪沙...): write a ci of that tune instead of a shi
    opening: str | None = None  # set by a rewrite of a free poem: the form token it opened with
    search: str = "best"  # one of SEARCHES. A best-of-several poem's id names the sample kept
    # (search off); a line-searched poem's records "lines" and is searched again when rebuilt.
    polish: bool = False  # revisit the weakest characters after writing (polish.py); readers rated
    # polished poems no better (benchmarks/README.md, "Panels 4 and 5"), so it is asked for by name
    # A 多音字 rhymes only in a group the poets rhymed it in after the character before it (送君行
    # in 庚, not 陽: verse/readings.py). Ids of pg6 and before were made without this. (Fields are
    # appended: an id numbers them.)
    rhyme_as_read: bool = True

    def __post_init__(self):
        # Values are checked against their kinds here, so that neither a caller of the API nor a
        # forged id can hand a string where a number belongs; ranges are request.py's to check.
        for f in fields(self):
            value = getattr(self, f.name)
            if not _of_kind(value, f.type):
                raise GenerationError("kind", name=f.name, kind=KIND_NAMES[f.type], value=value)

    @classmethod
    def of(cls, **kwargs) -> WriteParams:
        """From keyword arguments, naming an unknown one instead of a TypeError."""
        unknown = set(kwargs) - {f.name for f in fields(cls)}
        if unknown:
            raise GenerationError("unknown_params", names=", ".join(sorted(unknown)))
        return cls(**kwargs)

    def with_(self, **changes) -> WriteParams:
        return replace(self, **changes)

    @property
    def is_free(self) -> bool:
        return self.form == FREE or self.opening is not None

    def to_id(self) -> dict:
        """The parameters as a poem id records them ('opening' only when set, 'search' only
        for a line-searched poem: any other poem is one sample, the one the search kept)."""
        data = asdict(self)
        if data["search"] != "lines":
            del data["search"]
        if data["opening"] is None:
            del data["opening"]
        return data

    @classmethod
    def from_id(cls, data) -> WriteParams:
        if not isinstance(data, dict):
            raise GenerationError("damaged_id", why="its parameters are incomplete")
        # An id from before styles, ci, polishing or line search
        data = {"style": DEFAULT_STYLE, "cipai": None, "polish": False, "search": "off", "rhyme_as_read": False,
                **data}
        required = {f.name for f in fields(cls)} - {"opening"}
        if set(data) - {"opening"} != required:
            raise GenerationError("damaged_id", why="its parameters are incomplete")
        if data["search"] not in ID_SEARCHES:
            raise GenerationError("damaged_id", why="it names no poem of its own")
        return cls(**data)


@dataclass(frozen=True)
class Sampling:
    """How the decoder draws: what a checked request's WriteParams say of sampling, and the seed."""

    # Chosen by blind readers with search on: 0.5 and top-p 0.9 read better than 0.8 and 0.6
    # (benchmarks/README.md, "Readers"). Ids of pg5 and before were made over 0.8 and 1.0.
    temperature: float = 0.5  # 0: greedy
    top_k: int = 0  # 0: no cut
    top_p: float = 0.9  # 1: no cut
    seed: int = 0
