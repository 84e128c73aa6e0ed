"""The compiled decoding loop of one set of rules (`Decoder` compiles and calls it): each step
reads the last token into the LSTM, applies the plan's rules in turn to the next-token logits,
draws, and lets each rule update its state, all inside one tf.function."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import tensorflow as tf

from .plan import MergeKey
from .rules import (
    CiRhyme,
    EndAfterPeriod,
    LineStart,
    NoCopy,
    NoRepeat,
    PositionMask,
    Rhyme,
    RhymeReading,
    Rule,
    Step,
    Theme,
)
from .sampling import log_normalizer, sample_rows, sample_top_k, top_p_filter

if TYPE_CHECKING:  # the decoder imports this module; a loop gets its decoder as an argument
    from .decoder import Decoder

RULES: dict[str, type[Rule]] = {cls.name: cls for cls in (Theme, PositionMask, LineStart, EndAfterPeriod,
                                                           Rhyme, RhymeReading, NoRepeat, NoCopy, CiRhyme)}


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
        # autograph=False: the loop's control flow is TensorFlow's own (tf.while_loop, tf.cond,
        # tf.switch_case), so converting every function a step calls would only cost time: about
        # half of a loop's tracing, two seconds of a process's first.
        return tf.function(self.run, input_signature=signature, autograph=False)

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
