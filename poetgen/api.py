"""The Python API: `Poet.load()` then `poet.write(...)`, `poet.check(text)`,
`poet.regenerate(id)`. The CLI and the web page are thin layers over it; `Poet` itself is a
facade over the pieces that do the work: request checking (request.py), the theme
(theme.py), the merging decoder (merging.py), writing (writer.py) and editing (editor.py)."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path

from .constraints import Vocabulary
from .corpus import FORMS, corpus_texts, read_split_text, split_path
from .defaults import MAX_POEMS, default_corpus_dir, default_model_dir
from .editor import Editor
from .errors import GenerationError, ModelError
from .merging import MergingDecoder
from .model import load_model_dir, weights_path
from .params import WriteParams
from .prosody import Report, check_text, rhyme_table
from .request import RequestMaker
from .rules.no_copy import corpus_lines
from .sampler import Decoder
from .script import Script
from .theme import ThemeBias
from .writer import Poem, Writer

__all__ = ["Poem", "Poet", "WriteParams"]


class Poet:
    def __init__(self, model, tokenizer, model_dir: Path | None = None, corpus_dir: Path | None = None):
        self.model, self.tokenizer, self.model_dir, self.corpus_dir = model, tokenizer, model_dir, corpus_dir
        self.table = rhyme_table()
        self.vocab = Vocabulary(tokenizer, self.table)
        lines = corpus_lines(self._corpus_texts(), tokenizer)
        self.decoder = Decoder(model, tokenizer, self.vocab.members, lines, self.vocab.ci_members)
        self.script = Script(tokenizer.index)
        self.requests = RequestMaker(tokenizer, self.table, self.script, has_corpus=lines is not None)
        self.merging = MergingDecoder(self.decoder)
        self.writer = Writer(self.vocab, self.requests, ThemeBias(self.decoder.embedding, tokenizer), self.merging,
                             self.script, self.model_hash)
        self.editor = Editor(self.writer, model)

    @classmethod
    def load(cls, model_dir: str | Path | None = None, corpus_dir: str | Path | None = None) -> Poet:
        directory = Path(model_dir) if model_dir is not None else default_model_dir()
        model, _, tokenizer = load_model_dir(directory)
        corpus = Path(corpus_dir) if corpus_dir is not None else default_corpus_dir()
        return cls(model, tokenizer, directory, corpus)

    @property
    def model_hash(self) -> str:
        if "_model_hash" not in self.__dict__:
            try:
                path = weights_path(self.model_dir) if self.model_dir else None
            except ModelError:  # a model not (yet) saved in its directory
                path = None
            self._model_hash = hashlib.sha256(path.read_bytes()).hexdigest()[:12] if path else "unsaved"
        return self._model_hash

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
            raise GenerationError("rerank chooses among finished poems: use write(), not write_stream()")
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

    def picture(self, poem: Poem) -> bytes:
        """The poem as a PNG card for sharing (`picture.render`; needs a CJK font on the system)."""
        from .picture import render

        lines = [line for line in poem.text.split("\n") if line]
        report = poem.check
        title = " · ".join(x for x in ("" if poem.cipai else poem.form, report.get("verdict", "")) if x)
        simplified = self.script.display(poem.text, "simplified") == poem.text
        return render(lines, title, report.get("rhyme_lines", []), report.get("stanza", 0), simplified)

    def to_model_script(self, text: str) -> str:
        return self.script.to_model(text)

    def display(self, text: str, script: str) -> str:
        return self.script.display(text, script)

    @staticmethod
    def _check_count_and_seed(n, seed) -> int:
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_POEMS:
            raise GenerationError(f"n must be a whole number from 1 to {MAX_POEMS}, got {n!r}")
        if seed is None:
            import secrets

            return secrets.randbelow(2**31 - 1)
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**31 - 1:
            raise GenerationError(f"seed must be a whole number from 0 to {2**31 - 2}, got {seed!r}")
        return seed

    def warm_up(self) -> None:
        """Compile the decoding loops the page uses most, so a first visitor does not wait."""
        for form in FORMS:
            self.write(form=form, n=1, seed=0)
        self.write(form="七绝", theme="春", n=1, seed=0)
        self.write(form="七绝", n=1, seed=0, top_k=40, top_p=0.9)
        self.write(form="free", n=1, seed=0, max_tokens=16)
        self.write(cipai="浣溪沙", n=1, seed=0)  # a ci's loop has its own rule
        for form in FORMS:  # the merged loops that a busy page uses
            self._write_together([dict(form=form, n=1, seed=s) for s in (0, 1)])

    def _write_together(self, asks: list[dict], timeout: float = 120) -> None:
        """Several write() calls queued behind one pass, so that they run merged."""
        threads = [threading.Thread(target=self.write, kwargs=ask, daemon=True) for ask in asks]
        with self.merging.busy:
            for thread in threads:
                thread.start()
            self.merging.wait_for_queue(len(asks), timeout)
        for thread in threads:
            thread.join(timeout)


