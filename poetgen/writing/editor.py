"""换字: the model's alternatives for one character of a finished poem, and a rewrite of the rest
of the poem from the one chosen, continuing from the poem's saved decoding state there."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import GenerationError
from ..text.forms import CI
from .allowed import Allowed
from .decoder import select_rows
from .ids import decode_id
from .params import FREE, WriteParams
from .planning import free_lead
from .rules import Rhyme, RhymeReading
from .writer import Poem, Writer

FREE_CHUNK = 8  # a free poem is located in chunks of this many tokens (see `locate`)


@dataclass
class Located:
    """A character of a poem: the poem, how it was written, and its token column."""

    poem: Poem
    params: WriteParams
    seed: int
    row: np.ndarray  # the poem's tokens
    logprobs: np.ndarray
    col: int
    state: dict | None  # the decoding state at the column, where one was kept
    form: str  # as written (the request may have left it to the start text)
    tones: str


class Editor:
    def __init__(self, writer: Writer, model):
        self.writer, self.model = writer, model
        self.tokenizer, self.vocab = writer.tokenizer, writer.vocab
        self.allowed = Allowed(writer.vocab, writer.table, writer.script)

    def decode_chunks(self, params: WriteParams, seed: int, prepared, plan, split: int | None):
        """Write the poems of an id again in chunks, keeping the state at each chunk's start.
        A regulated form's column is known before decoding (`split`); a free poem's only once
        written, so it is decoded in chunks of FREE_CHUNK tokens."""
        length = plan.forced.shape[1]
        stops = [split] if split else list(range(FREE_CHUNK, length, FREE_CHUNK))
        states, pieces, state = [], [], self.writer.merging.decoder.start_state(plan)
        for stop in [*stops, length]:
            states.append(state)
            piece, piece_lp, state = self.writer.merging.decode(plan, prepared.sampling, state, stop)
            pieces.append((piece, piece_lp))
        tokens = np.concatenate([p for p, _ in pieces], axis=1)
        logprobs = np.concatenate([lp for _, lp in pieces], axis=1)
        poems = self.writer.poems(params, seed, prepared, tokens, logprobs)
        return poems, tokens, logprobs, states, prepared.request

    def locate(self, poem_id: str, line: int, position: int) -> Located:
        """The poem of an id and the token column of its (line, position), 0-based."""
        params, seed, index = decode_id(poem_id, self.writer.model_hash, self.writer.both_hash)
        if params.search == "lines" or params.polish:
            # Not one sample: searched again (and polished) as its id says; a rewrite from it
            # then writes its rest in one pass of its own (no saved state).
            poem, row, logprobs, prepared = self.searched(params, seed, index)
            states, request, split = [], prepared.request, None
        else:
            prepared, plan = self.writer.plan(params, index + 1, seed)  # once: decode_chunks reuses it
            split = plan.layout.get((line, position)) if plan.layout and isinstance(line, int) \
                and isinstance(position, int) else None
            poems, tokens, all_logprobs, states, request = self.decode_chunks(params, seed, prepared, plan, split)
            poem, row, logprobs = poems[index], tokens[index], all_logprobs[index]
        for name, value, top in (("line", line, len(poem.lines)),
                                 ("position", position, len(poem.lines[line]) if 0 <= line < len(poem.lines)
                                  else 0)):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < top:
                raise GenerationError("place", what=name, high=top, value=value + 1 if _whole(value) else value)
        before = sum(len(x) for x in poem.lines[:line]) + position
        col = int(np.flatnonzero(row >= self.tokenizer.first_char)[before])
        fixed_by = ("start" if before < len(self.writer.requests.ids(params.start or "", "start", False))
                    else "acrostic" if params.acrostic and position == 0
                    else "tail" if params.tail and position == len(poem.lines[line]) - 1 else "")
        if fixed_by:
            raise GenerationError("fixed_place", line=line + 1, position=position + 1, what=fixed_by)
        saved = [s for s in states if s["t"] <= col and (not split or s["t"] == col)]
        state = select_rows(saved[-1], slice(index, index + 1)) if saved else None
        return Located(poem, params, seed, row, logprobs, col, state, request.form, request.tones)

    def searched(self, params: WriteParams, seed: int, index: int) -> tuple:
        """(poem, tokens, log-probabilities, prepared request) of a line-searched or polished id."""
        poems, tokens, prepared = self.writer.drafts(params, index + 1, seed)
        poem, row = self.writer.polished(poems[index], tokens[index], params, prepared)
        return poem, row, np.zeros(len(row), np.float32), prepared

    def alternatives(self, poem_id: str, line: int, position: int, k: int = 8) -> list[tuple[str, float]]:
        """The model's k most likely characters at (line, position) of a poem (0-based), among
        those that keep its form, tone and rhyme, with their probabilities."""
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 50:
            raise GenerationError("whole_range", what="k", low=1, high=50, value=k)
        at = self.locate(poem_id, line, position)
        inputs = np.concatenate([[self.tokenizer.bos], at.row[:at.col]]).astype(np.int32)[None]
        with self.writer.merging.busy:
            logits = np.asarray(self.model(inputs, training=False))[0, -1].astype(np.float64)
        probs = np.exp(logits - logits.max())
        probs /= probs.sum()
        probs[~self.allowed(at.poem, at.tones, line, position, at.params.rhyme_as_read)] = 0
        best = [int(t) for t in np.argsort(-probs)[:k] if probs[t] > 0]
        return [(self.writer.script.display(self.tokenizer.tokens[t], at.params.script), float(probs[t]))
                for t in best]

    def rewrite(self, poem_id: str, line: int, position: int, char: str) -> Poem:
        """Put `char` at (line, position) (0-based) and write the rest of the poem anew, under
        the same constraints, pattern and seed. The new poem has its own id."""
        at = self.locate(poem_id, line, position)
        if not isinstance(char, str) or len(char.strip()) != 1:
            raise GenerationError("one_char", value=char)
        [token] = self.writer.requests.ids(char.strip(), "char", punctuation=False) or [None]
        if token is None:
            raise GenerationError("one_char", value=char)
        if not self.allowed(at.poem, at.tones, line, position, at.params.rhyme_as_read)[token]:
            raise GenerationError("breaks_rules", char=char, line=line + 1, position=position + 1)
        params = self.rewritten_params(at, token)
        # A fresh draw for the rest (the same seed would mostly repeat the old ending), still
        # reproducible: the new id records this seed.
        seed = (at.seed * 1_000_003 + at.col * 7_919 + token) % (2**31 - 1)
        prepared, plan = self.writer.plan(params, 1, seed)
        decode = self.writer.merging.decode
        if at.state is None or not np.array_equal(plan.forced[0, :at.col], at.row[:at.col]):
            # The kept text reads back as other characters (a corpus with both 凭 and 憑): one
            # full pass, as the new id will give.
            tokens, logprobs, _ = decode(plan, prepared.sampling)
            return self.writer.poems(params, seed, prepared, tokens, logprobs)[0]
        # Continue from the original poem's decoding state at that column (LSTM and rules
        # alike) instead of feeding the kept prefix through the model again.
        state = at.state
        # The new plan's pinned pattern may open other rhyme groups than the original's choice of
        # patterns did: carry the groups its own pass would have at the column.
        rules, kept = dict(state["rules"]), state["t"]
        rhyme, reading = plan.rule(Rhyme.name), plan.rule(RhymeReading.name)
        if rhyme is not None:
            rules[Rhyme.name] = {"groups": Rhyme.narrow(rhyme.groups[:1], rhyme.rhyme_at[0, :kept], at.row,
                                                        self.vocab.members)}
        if reading is not None:
            rules[RhymeReading.name] = {"groups": RhymeReading.narrow(
                reading.groups[:1], reading.rhyme_at[0, :kept], at.row, self.writer.merging.decoder.env)}
        state = {**state, "rules": rules}
        tail, tail_lp, _ = decode(plan, prepared.sampling, state, None)
        kept = state["t"]
        tokens = np.concatenate([at.row[None, :kept], tail], axis=1)
        logprobs = np.concatenate([at.logprobs[None, :kept], tail_lp], axis=1)
        return self.writer.poems(params, seed, prepared, tokens, logprobs)[0]

    def rewritten_params(self, at: Located, token: int) -> WriteParams:
        """The original request, with the kept text and the new character as its start."""
        prefix = self.tokenizer.decode(at.row[:at.col]) + self.tokenizer.tokens[token]
        params = at.params.with_(start=prefix, search="off", polish=False)
        if at.form == FREE:
            # Free form: keep the model's choice of form, the token after the forced lead.
            lead = free_lead(self.tokenizer, self.writer.requests.collection(params.style))
            params = params.with_(opening=self.tokenizer.tokens[at.row[len(lead)]])
        else:  # the form as written: a longer start text could fit another
            params = params.with_(form=at.form)
        if at.poem.report.get("pattern") and params.tones != "off" and at.form != CI:
            params = params.with_(pattern=at.poem.report["pattern"])
        return params


def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
