"""The Python API: `Poet.load()` then `poet.write(...)`, `poet.check(text)`,
`poet.regenerate(id)`. The CLI and the web page are thin layers over it; `Poet` itself is a
facade over the pieces that do the work: request checking (request.py), the theme
(theme.py), the merging decoder (merging.py), writing (writer.py) and editing (editor.py)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

from .native_log import quiet_native_stderr

# TensorFlow's C++ lines mean nothing to a user of the API, as to one of the command line or the
# page: level 3 silences those that come on first use (the cuInit probe when the model loads,
# oneDNN's note on the first compiled loop), and the ones printed while TensorFlow is imported
# ignore the level, so standard error is closed for the import. A level the user set is kept,
# and TF_CPP_MIN_LOG_LEVEL=0 shows them all.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
with quiet_native_stderr():
    import tensorflow  # noqa: F401

from .corpus.splits import corpus_texts, read_split_text, split_path
from .defaults import MAX_POEMS, MAX_SEED, default_corpus_dir, default_model_dir
from .errors import GenerationError, ModelError
from .model.network import load_model_dir, weights_path
from .text.script import Script
from .verse.check import Report, check_text
from .verse.pingshui import rhyme_table
from .writing.allowed import Allowed
from .writing.decoder import Decoder
from .writing.editor import Editor
from .writing.line_search import LineSearch
from .writing.merging import MergingDecoder
from .writing.params import WriteParams
from .writing.polish import Polisher
from .writing.repair import Repaired, Repairer
from .writing.request import RequestMaker
from .writing.rules.no_copy import corpus_lines
from .writing.scoring import Scorer
from .writing.search import REBUILT, Search
from .writing.theme_bias import ThemeBias
from .writing.vocabulary import Vocabulary
from .writing.writer import Poem, Writer

__all__ = ["Poem", "Poet", "WriteParams"]

# One request of each set of rules the page can ask for, the most asked first: a shi, a ci or a
# free poem, with a theme or without; a shi or ci with tones off has no rhyme rule (then both
# have the same rules). Each compiles the decoding loop of its rules, which then serves every
# form, tune, length and sampling choice (greedy, top-k, top-p) of them (decode_loop.DecodeLoop).
WARM_UP_REQUESTS = (
    dict(form="七绝"), dict(form="七律", theme="春"), dict(cipai="浣溪沙"), dict(cipai="浣溪沙", theme="秋"),
    dict(form="free", max_tokens=16), dict(form="free", max_tokens=16, theme="月"),
    dict(form="五绝", tones="off"), dict(form="五律", tones="off", theme="江"),
)


class Poet:
    def __init__(self, model, tokenizer, model_dir: Path | None = None, corpus_dir: Path | None = None,
                 backward=None):
        self.model, self.tokenizer, self.model_dir, self.corpus_dir = model, tokenizer, model_dir, corpus_dir
        self.backward = backward  # a model reading poems from their end, for the search's score
        self.table = rhyme_table()
        self.vocab = Vocabulary(tokenizer, self.table)
        lines = corpus_lines(self._corpus_texts(), tokenizer)
        self.decoder = Decoder(model, tokenizer, self.vocab.members, lines, self.vocab.ci_members,
                               self.vocab.read_tables)
        self.script = Script(tokenizer.index)
        self.requests = RequestMaker(tokenizer, self.table, self.script, has_corpus=lines is not None)
        self.merging = MergingDecoder(self.decoder)
        self.scorer = Scorer(tokenizer, model, backward)
        search, rebuilt = Search(self.scorer, tokenizer), Search(self.scorer, tokenizer, REBUILT)
        polisher = Polisher(rebuilt, Allowed(self.vocab, self.table, self.script), lines)
        self.writer = Writer(self.vocab, self.requests, ThemeBias(self.decoder.embedding, tokenizer), self.merging,
                             self.script, self.model_hash, search, polisher, LineSearch(self.merging, rebuilt),
                             self.both_hash)
        self.editor = Editor(self.writer, model)
        self.repairer = Repairer(tokenizer, self.table, self.script, self.scorer)

    @classmethod
    def load(cls, model_dir: str | Path | None = None, corpus_dir: str | Path | None = None) -> Poet:
        """The model of `model_dir` (default: the shipped one) and, where a directory of the same
        name with "-backward" stands beside it, its backward partner for the search's score."""
        directory = Path(model_dir) if model_dir is not None else default_model_dir()
        model, _, tokenizer = load_model_dir(directory)
        corpus = Path(corpus_dir) if corpus_dir is not None else default_corpus_dir()
        return cls(model, tokenizer, directory, corpus, load_backward(directory, tokenizer))

    @property
    def model_hash(self) -> str:
        if "_model_hash" not in self.__dict__:
            try:
                path = weights_path(self.model_dir) if self.model_dir else None
            except ModelError:  # a model not (yet) saved in its directory
                path = None
            self._model_hash = hashlib.sha256(path.read_bytes()).hexdigest()[:12] if path else "unsaved"
        return self._model_hash

    @property
    def both_hash(self) -> str:
        """The forward and the backward model's weights together: the ids of poems rebuilt by
        searching or polishing again name both, so a new backward model refuses them by name
        instead of writing another poem."""
        if "_both_hash" not in self.__dict__:
            partner = self.model_dir.with_name(self.model_dir.name + "-backward") if self.model_dir else None
            if self.backward is None or partner is None or self.model_hash == "unsaved":
                self._both_hash = self.model_hash
            else:
                both = bytes.fromhex(self.model_hash) + weights_path(partner).read_bytes()
                self._both_hash = hashlib.sha256(both).hexdigest()[:12]
        return self._both_hash

    def _corpus_texts(self) -> list[str]:
        """The corpus's texts, for the no-copy rule (none when no corpus is at hand)."""
        if self.corpus_dir is None:
            return []
        return [text for split in ("train", "valid") if split_path(self.corpus_dir, split)
                for text in corpus_texts(read_split_text(self.corpus_dir, split))]

    def write(self, n: int = 1, seed: int | None = None, rerank: bool = False, **params) -> list[Poem]:
        """Write n poems in one batched, compiled pass. Same arguments and seed, same poems.
        The parameters and their defaults are WriteParams's (form, start, acrostic, theme,
        rhyme, tones, style, temperature, top_k, top_p, script...); rerank writes 3n and keeps
        the n the model likes best."""
        seed = self._check_count_and_seed(n, seed)
        poems = self.writer.write(WriteParams.of(**params), 3 * n if rerank else n, seed)
        return sorted(poems, key=lambda p: -p.score)[:n] if rerank else poems

    def write_stream(self, chunk: int = 8, n: int = 1, seed: int | None = None,
                     **params) -> Iterator[tuple[list[str], list[Poem] | None]]:
        """write(), decoded `chunk` tokens at a time: yields (the text of each poem so far,
        None) while writing, then (the texts, the finished poems), the same poems write() gives."""
        if params.pop("rerank", False):
            raise GenerationError("stream_rerank")
        seed = self._check_count_and_seed(n, seed)
        return self.writer.stream(WriteParams.of(**params), n, seed, chunk)

    def regenerate(self, poem_id: str) -> Poem:
        """The poem an id was made for, rebuilt exactly (same model, seed and parameters)."""
        return self.writer.regenerate(poem_id)

    def alternatives(self, poem_id: str, line: int, position: int, k: int = 8) -> list[tuple[str, float]]:
        """The model's k most likely characters at (line, position), 0-based, that keep the
        poem's form, tone and rhyme, with their probabilities."""
        return self.editor.alternatives(poem_id, line, position, k)

    def rewrite(self, poem_id: str, line: int, position: int, char: str) -> Poem:
        """`char` at (line, position), 0-based, and the rest of the poem written anew."""
        return self.editor.rewrite(poem_id, line, position, char)

    def check(self, text: str, cipai: str | None = None) -> Report:
        """The 格律 report of any poem or ci, against the tune named or the one its shape is
        (no model needed: `prosody.check_text`)."""
        return check_text(text, self.table, cipai)

    def repair(self, text: str, cipai: str | None = None) -> Repaired:
        """The fewest changes, at the characters the check faults only, that make a poem or ci
        合律, ranked by the model; `.changes` lists them (0-based line and position, from, to,
        why), `.text` is the user's text with just those characters replaced, `.report` its
        check. A poem that holds comes back unchanged (`.unchanged`)."""
        return self.repairer.repair(text, cipai)

    def picture(self, poem: Poem) -> bytes:
        """The poem as a PNG card for sharing (`picture.render`; needs a CJK font on the system)."""
        from .picture import render

        lines = [line for line in poem.text.split("\n") if line]
        report = poem.report
        title = " · ".join(x for x in ("" if poem.cipai else poem.form, report.get("verdict", "")) if x)
        simplified = self.script.display(poem.text, "simplified") == poem.text
        return render(lines, title, report.get("rhyme_lines", []), report.get("stanza", 0), simplified)

    def display(self, text: str, script: str) -> str:
        return self.script.display(text, script)

    @staticmethod
    def _check_count_and_seed(n, seed) -> int:
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_POEMS:
            raise GenerationError("whole_range", what="n", low=1, high=MAX_POEMS, value=n)
        if seed is None:
            import secrets

            return secrets.randbelow(MAX_SEED + 1)
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
            raise GenerationError("whole_range", what="seed", low=0, high=MAX_SEED, value=seed)
        return seed

    def warm_up(self) -> None:
        """Compile what the page's requests use, so that a first visitor of each kind waits no
        longer than the next: one decoding loop per rule set (WARM_UP_REQUESTS: a loop serves
        every sampling choice, and a pass of one poem or many, alone or merged), jieba for
        themes, the 换字 scorer, the line search and polishing."""
        for asks in WARM_UP_REQUESTS:
            for _ in self.write_stream(n=2, seed=0, chunk=16, **asks):
                pass
        self.write(form="七绝", n=1, seed=0, search="lines", polish=True)
        poem = self.write(form="七律", n=1, seed=0, search="off")[0]
        self.alternatives(poem.id, 1, 2)
        self.rewrite(poem.id, 1, 2, poem.lines[1][2])
        self.repair("白天依山尽，黄河入海流。欲穷千里目，更上一层楼。")
        self.check(poem.text)


def load_backward(directory: Path, tokenizer):
    """The backward model beside a model directory (NAME-backward), or None; one that reads
    forward or has another vocabulary is refused by name."""
    partner = directory.with_name(directory.name + "-backward")
    if not (partner / "config.json").is_file():
        return None
    model, config, partner_tokenizer = load_model_dir(partner)
    if not config.reverse or partner_tokenizer.tokens != tokenizer.tokens:
        raise ModelError(f"{partner} is not a backward model of {directory.name}'s vocabulary")
    return model
