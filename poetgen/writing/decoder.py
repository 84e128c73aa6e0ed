"""Compiled, batched decoding: the LSTM state is carried one token at a time inside one
tf.function loop; the growing sequence is never re-run through the model.

A request becomes a *plan*: the tokens forced at each column (marks, acrostic characters, the
opening) and a list of rule objects (`poetgen.rules`), each a constraint over the next-token
logits with its own state. The loop applies the plan's rules in turn, then draws.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import tensorflow as tf

from ..model.tokenizer import Tokenizer
from .params import Sampling
from .plan import MergeKey, Plan
from .rules import (
    NEG_INF,
    CiRhyme,
    EndAfterPeriod,
    Env,
    LineStart,
    NoCopy,
    NoRepeat,
    PositionMask,
    Rhyme,
    Rule,
    Step,
    Theme,
    extend_hash,
)
from .sampling import log_normalizer, sample_rows, sample_top_k, top_p_filter

__all__ = ["NEG_INF", "Decoder", "Plan", "Sampling", "extend_hash"]

RULES: dict[str, type[Rule]] = {cls.name: cls for cls in (Theme, PositionMask, LineStart, EndAfterPeriod,
                                                           Rhyme, NoRepeat, NoCopy, CiRhyme)}


# ----------------------------------------------------------------------------- the decoder

def lstm_gates(z, c):
    """Keras's LSTM cell from its pre-activations z = x @ kernel + h @ recurrent + bias."""
    i, f, g, o = tf.split(z, 4, axis=1)  # Keras's gate order
    c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
    return tf.sigmoid(o) * tf.tanh(c), c


class Decoder:
    """The model's weights as constants and a compiled step loop over them."""

    def __init__(self, model, tokenizer: Tokenizer, group_members: np.ndarray | None = None,
                 corpus_lines: np.ndarray | None = None, ci_members: np.ndarray | None = None):
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
        env = Env(tokenizer, self.vocab_size, group_members, corpus_lines, ci_members)
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


# How a pass draws (draw_mode): an input of the compiled loop, not a part of its key, so that one
# loop serves every sampling choice of a rule set. Sampled modes are 1 + use_top_p + 2 * use_top_k.
GREEDY, PLAIN, TOP_P, TOP_K, TOP_K_TOP_P = range(5)


def draw_mode(key: MergeKey) -> int:
    """The way of drawing of a merge key: greedy, or sampled with or without the top-k and top-p cuts."""
    return GREEDY if key.greedy else PLAIN + int(key.use_top_p) + 2 * int(key.use_top_k)


class DecodeLoop:
    """The compiled loop for one choice of rules: a step reads the last token into the LSTM,
    applies the rules in turn to the logits, draws (greedily, or sampled with or without top-k
    and top-p, as the pass's draw mode says), and lets each rule update its state. Inputs and
    state are dicts keyed by rule name, their signatures built from the rules."""

    def __init__(self, decoder: Decoder, rules: tuple[str, ...]):
        self.decoder, self.rules = decoder, [RULES[name] for name in rules]
        self.counts_used = any(rule.needs_counts for rule in self.rules)

    def compile(self) -> Callable:
        d, env = self.decoder, self.decoder.env
        specs = {rule.name: rule.specs(env) for rule in self.rules}
        state = {
            "t": tf.TensorSpec([], tf.int32), "prev": tf.TensorSpec([None], tf.int32),
            "done": tf.TensorSpec([None], tf.bool),
            "lstm": [(tf.TensorSpec([None, n]), tf.TensorSpec([None, n])) for n in d.hidden],
            "rules": {name: spec[1] for name, spec in specs.items()},
        }
        if self.counts_used:
            state["counts"] = tf.TensorSpec([None, d.vocab_size], tf.int32)
        scalar = lambda dtype: tf.TensorSpec([], dtype)  # noqa: E731
        rows = tf.TensorSpec([None], tf.int32)
        signature = [
            tf.TensorSpec([None, None], tf.int32),  # forced
            {name: spec[0] for name, spec in specs.items()},  # each rule's inputs
            scalar(tf.float32), scalar(tf.int32), scalar(tf.float32),  # temperature, top_k, top_p
            scalar(tf.int32),  # the draw mode (GREEDY ... TOP_K_TOP_P)
            rows, rows, rows,  # seeds (one per request), each row's request, its index in it
            state,  # where decoding starts: the state a previous chunk ended in, or a fresh one
            scalar(tf.int32),  # stop_at: decode positions start["t"] .. stop_at - 1
        ]
        return tf.function(self.run, input_signature=signature)

    def step_of(self, rule: type[Rule], state: dict, inputs: dict, t) -> Step:
        return Step(t, state["prev"], state.get("counts"), self.decoder.rule_tables[rule.name],
                    inputs[rule.name], state["rules"][rule.name])

    def draw(self, logits, t, sampling: tuple, seeds, row_request, row_index):
        """The next token of each poem from its logits, after the rules, the way the draw mode says."""
        temperature, top_k, top_p, mode = sampling

        def sampled():
            # Counter-based random numbers: row b's depends only on (seed, step, b), so a poem does
            # not change with the batch size, nor with the requests it is merged with.
            n_rows = tf.reduce_max(row_index) + 1

            def request_uniforms(seed):
                return tf.random.stateless_uniform([n_rows], seed=tf.stack([seed, t]))

            uniforms = tf.map_fn(request_uniforms, seeds, fn_output_signature=tf.float32)
            u = tf.gather_nd(uniforms, tf.stack([row_request, row_index], axis=1))
            return tf.switch_case(mode - PLAIN, [  # in the order PLAIN, TOP_P, TOP_K, TOP_K_TOP_P
                lambda: sample_rows(logits / temperature, u),
                lambda: sample_rows(top_p_filter(logits / temperature, top_p), u),
                lambda: sample_top_k(logits, top_k, u, temperature),
                lambda: sample_top_k(logits, top_k, u, temperature, top_p),
            ])

        return tf.cond(tf.equal(mode, GREEDY), lambda: tf.argmax(logits, axis=-1, output_type=tf.int32), sampled)

    def next_token(self, top, state, forced, inputs, draw_args):
        """(token, its log-probability) of every poem: forced, or drawn under the rules."""
        d, t = self.decoder, state["t"]
        force = forced[:, t]

        def with_logits():
            logits = d.head(top)

            def choose():
                ruled = logits
                for rule in self.rules:
                    ruled = rule.mask(ruled, self.step_of(rule, state, inputs, t))
                return self.draw(ruled, t, *draw_args)

            # Where every poem has its token already (a mark, an acrostic character, or
            # finished), the rules and the draw are skipped: their result is unused.
            settled = tf.reduce_all(tf.logical_or(force >= 0, state["done"]))
            chosen = tf.cond(settled, lambda: tf.zeros_like(force), choose)
            token = tf.where(force >= 0, force, chosen)
            return token, tf.gather(logits, token, batch_dims=1) - log_normalizer(logits)

        # A forced mark or end needs no logits: only characters' log-probabilities make a
        # poem's score. Where that holds for every poem, the output layer (about half of a
        # step's work) is skipped.
        forced_mark = tf.logical_and(force >= 0, tf.logical_not(tf.gather(d.is_char, tf.maximum(force, 0))))
        return tf.cond(tf.reduce_all(tf.logical_or(forced_mark, state["done"])),
                       lambda: (force, tf.zeros([tf.shape(force)[0]])), with_logits)

    def advance(self, state, forced, inputs, draw_args):
        """One step: the state after every poem's next token."""
        d, t = self.decoder, state["t"]
        top, lstm = d.recur(state["prev"], state["lstm"])
        token, logprob = self.next_token(top, state, forced, inputs, draw_args)
        token = tf.where(state["done"], d.tokenizer.pad, token)
        new = {"t": t + 1, "prev": token, "lstm": lstm,
               "rules": {rule.name: rule.update(token, self.step_of(rule, state, inputs, t)) for rule in self.rules}}
        if self.counts_used:  # a [B, V] update at every step: only for the rules that read it
            is_char = tf.cast(tf.gather(d.is_char, token), tf.int32)
            batch = tf.shape(token)[0]
            new["counts"] = tf.tensor_scatter_nd_add(state["counts"], tf.stack([tf.range(batch), token], axis=1),
                                                     is_char)
        done = tf.logical_or(state["done"], tf.equal(token, d.tokenizer.eos))
        new["done"] = tf.logical_or(done, t + 1 >= tf.shape(forced)[1])
        return new, token, tf.where(state["done"], 0.0, logprob)

    def run(self, forced, inputs, temperature, top_k, top_p, mode, seeds, row_request, row_index, start, stop_at):
        pad, batch, t0 = self.decoder.tokenizer.pad, tf.shape(forced)[0], start["t"]
        span = stop_at - t0
        draw_args = ((temperature, top_k, top_p, mode), seeds, row_request, row_index)

        def cond(state, tokens, logprobs):
            return tf.logical_and(tf.logical_not(tf.reduce_all(state["done"])), state["t"] < stop_at)

        def body(state, tokens, logprobs):
            new, token, logprob = self.advance(state, forced, inputs, draw_args)
            return new, tokens.write(state["t"] - t0, token), logprobs.write(state["t"] - t0, logprob)

        state, tokens, logprobs = tf.while_loop(
            cond, body, (start, tf.TensorArray(tf.int32, size=span), tf.TensorArray(tf.float32, size=span)),
            maximum_iterations=span)
        # Steps the loop never reached (all poems ended early) stay padding.
        written = state["t"] - t0
        tokens = tf.concat([tokens.stack()[:written], tf.fill([span - written, batch], pad)], axis=0)
        logprobs = tf.concat([logprobs.stack()[:written], tf.zeros([span - written, batch])], axis=0)
        state["t"] = stop_at  # the next chunk's positions follow on, whether or not all ended
        return tf.transpose(tokens), tf.transpose(logprobs), state
