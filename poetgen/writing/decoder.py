"""Compiled, batched decoding: the LSTM state is carried one token at a time inside one
tf.function loop; the growing sequence is never re-run through the model.

A request becomes a *plan*: the tokens forced at each column (marks, acrostic characters, the
opening) and a list of rule objects (`poetgen.rules`), each a constraint over the next-token
logits with its own state. The loop (decode_loop.py) applies the plan's rules in turn, then draws.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import tensorflow as tf

from ..model.tokenizer import Tokenizer
from .decode_loop import RULES, DecodeLoop, draw_mode
from .params import Sampling
from .plan import MergeKey, Plan
from .rules import NEG_INF, Env, ReadTables, extend_hash

__all__ = ["NEG_INF", "Decoder", "Plan", "Sampling", "extend_hash"]


def lstm_gates(z, c):
    """Keras's LSTM cell from its pre-activations z = x @ kernel + h @ recurrent + bias."""
    i, f, g, o = tf.split(z, 4, axis=1)  # Keras's gate order
    c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
    return tf.sigmoid(o) * tf.tanh(c), c


class Decoder:
    """The model's weights as constants and a compiled step loop over them."""

    def __init__(self, model, tokenizer: Tokenizer, group_members: np.ndarray | None = None,
                 corpus_lines: np.ndarray | None = None, ci_members: np.ndarray | None = None,
                 read_tables: ReadTables | None = None):
        self.tokenizer = tokenizer
        get = lambda name: [tf.constant(w) for w in model.get_layer(name).get_weights()]  # noqa: E731
        names = {layer.name for layer in model.layers}
        self.embedding = get("embedding")[0]
        kernel, recurrent, bias = get("lstm_0")
        # The first layer's input projection depends on the token alone: one table row per
        # token (embedding @ kernel + bias, computed once) replaces a matmul at every step.
        self.input_table = tf.matmul(self.embedding, kernel) + bias
        # Not stored transposed, though oneDNN's h @ U^T was 20% faster at batch 64: h @ U^T
        # rounds differently below 16 rows than above, so a poem changed with the batch it was
        # written in (an id rebuilt in another batch size gave another poem); h @ U rounds alike
        # from 2 rows up (advance_many never decodes fewer).
        self.recurrent = recurrent
        self.upper = []  # the layers above the first: one matmul per step on [x, h]
        while f"lstm_{len(self.upper) + 1}" in names:
            kernel, recurrent, bias = get(f"lstm_{len(self.upper) + 1}")
            self.upper.append((tf.concat([kernel, recurrent], axis=0), bias))
        self.projection = get("projection") if "projection" in names else None
        self.output = get("logits")
        self.vocab_size = int(self.output[0].shape[-1])
        self.hidden = [int(recurrent.shape[0])] + [int(b.shape[0]) // 4 for _, b in self.upper]
        if group_members is None:
            group_members = np.zeros((self.vocab_size, 1), bool)
        self.has_corpus = corpus_lines is not None
        if ci_members is None:
            ci_members = np.zeros((self.vocab_size, 2, 1), bool)
        env = Env(tokenizer, self.vocab_size, group_members, corpus_lines, ci_members, read_tables)
        self.env = env
        self.rule_tables = {name: cls.tables(env) for name, cls in RULES.items()}
        self.is_char = tf.constant(np.arange(self.vocab_size) >= tokenizer.first_char)
        self._compiled: dict[tuple, Callable] = {}

    def recur(self, token, states):
        """One token for every poem -> the top LSTM layer's output and the new states."""
        h, c = states[0]
        h, c = lstm_gates(tf.gather(self.input_table, token) + tf.matmul(h, self.recurrent), c)
        new_states = [(h, c)]
        for (weights, bias), (h_layer, c_layer) in zip(self.upper, states[1:]):
            h, c = lstm_gates(tf.matmul(tf.concat([h, h_layer], axis=1), weights) + bias, c_layer)
            new_states.append((h, c))
        return h, new_states

    def head(self, x):
        """The top LSTM layer's output -> next-token logits."""
        if self.projection is not None:
            x = tf.matmul(x, self.projection[0]) + self.projection[1]
        return tf.matmul(x, self.output[0]) + self.output[1]

    def start_state(self, plan: Plan) -> dict:
        """The decoding state before the first token: what a chunked decode starts from."""
        b = plan.batch
        state = {
            "t": 0, "prev": np.full(b, self.tokenizer.bos, np.int32), "done": np.zeros(b, bool),
            "lstm": [(np.zeros((b, n), np.float32), np.zeros((b, n), np.float32)) for n in self.hidden],
            "rules": {rule.name: rule.init_state(b) for rule in plan.rules},
        }
        if any(rule.needs_counts for rule in plan.rules):
            state["counts"] = np.zeros((b, self.vocab_size), np.int32)
        return state

    def merge_key(self, plan: Plan, sampling: Sampling, start: dict | None = None, stop_at: int = 0) -> MergeKey:
        greedy = sampling.temperature == 0
        top_k = 0 if greedy or not sampling.top_k else min(int(sampling.top_k), self.vocab_size)
        use_top_p = not greedy and sampling.top_p < 1.0
        length = plan.forced.shape[1]
        return MergeKey(tuple(rule.name for rule in plan.rules), greedy, top_k > 0, use_top_p, length,
                        sampling.temperature, top_k, sampling.top_p, start["t"] if start else 0, stop_at or length)

    def advance_many(self, requests: list[tuple[Plan, Sampling, dict | None]],
                     stop_at: int) -> list[tuple[np.ndarray, np.ndarray, dict]]:
        """Decode positions start["t"] .. stop_at - 1 of several requests of one merge key in one
        batched pass (start None: from the beginning). Returns each request's tokens and
        log-probabilities of those positions and the state to continue from: decoding in
        chunks gives exactly the tokens of one pass."""
        requests = [(plan, sampling, start or self.start_state(plan)) for plan, sampling, start in requests]
        if sum(plan.batch for plan, _, _ in requests) == 1:
            # One row would take the BLAS's matrix-vector path, which rounds differently from the
            # matrix-matrix path of every larger batch (measured: 1 poem in 40 changed): the
            # poem is written beside a copy of itself, so alone or in a batch it is the same.
            return self._advance(requests * 2, stop_at)[:1]
        return self._advance(requests, stop_at)

    def _advance(self, requests: list[tuple[Plan, Sampling, dict]], stop_at: int) -> list[tuple]:
        keys = {self.merge_key(plan, sampling, start, stop_at) for plan, sampling, start in requests}
        if len(keys) != 1:
            raise ValueError("advance_many needs requests of one merge key")
        (key,) = keys
        # One compiled loop per rule set, whether a pass holds one request or several (the rows'
        # random numbers are drawn per request either way) and whatever its sampling (the way of
        # drawing is an input of the loop): warming a rule set once warms every request of it.
        loop_key = key.loop
        if loop_key not in self._compiled:
            self._compiled[loop_key] = DecodeLoop(self, loop_key).compile()
        plans = [plan for plan, _, _ in requests]
        sizes = [plan.batch for plan in plans]
        inputs = {rules[0].name: type(rules[0]).merge([r.inputs() for r in rules])
                  for rules in zip(*(plan.rules for plan in plans))}
        start = tf.nest.map_structure(lambda *rows: np.concatenate(rows),
                                      *[{k: v for k, v in s.items() if k != "t"} for _, _, s in requests])
        start["t"] = np.int32(requests[0][2]["t"])
        tokens, logprobs, end = self._compiled[loop_key](
            np.concatenate([p.forced for p in plans]).astype(np.int32), inputs,
            np.float32(max(key.temperature, 1e-6)), np.int32(max(key.top_k, 1)), np.float32(key.top_p),
            np.int32(draw_mode(key)),
            np.array([s.seed % (2**31 - 1) for _, s, _ in requests], np.int32),
            np.repeat(np.arange(len(plans)), sizes).astype(np.int32),
            np.concatenate([np.arange(n) for n in sizes]).astype(np.int32),
            start, np.int32(stop_at),
        )
        cuts = np.cumsum(sizes)[:-1]
        tokens, logprobs = np.split(tokens.numpy(), cuts), np.split(logprobs.numpy(), cuts)
        end = {k: v for k, v in end.items() if k != "t"}
        ends = [tf.nest.map_structure(lambda x, r=r: np.split(x.numpy(), cuts)[r], end) for r in range(len(plans))]
        return [(tok, lp, {**e, "t": stop_at}) for tok, lp, e in zip(tokens, logprobs, ends)]


def select_rows(state: dict, rows: slice | np.ndarray) -> dict:
    """The decoding state of some poems only, or of rows copied (a saved chunk state for a
    rewrite; a line search's survivors)."""
    return {k: v if k == "t" else tf.nest.map_structure(lambda x: x[rows], v) for k, v in state.items()}
