"""Compiled, batched decoding: the LSTM state is carried one token at a time inside one
tf.function loop; the growing sequence is never re-run through the model.

A request becomes a *plan*: for every position of every poem either a forced token or the
index of an allowed-token mask. Rules that depend on what was already written (no punctuation
at a line start, ...) are small functions over the next-token logits, applied in the loop.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import tensorflow as tf

from .tokenizer import Tokenizer

NEG_INF = -1e9  # a finite "-inf": keeps softmax and Gumbel arithmetic free of NaN


@dataclass
class Plan:
    """forced[b, t] >= 0 forces token t+1 of poem b; otherwise masks[mask_id[b, t]] says
    which tokens may be sampled there. Position 0 is always <bos>."""

    forced: np.ndarray  # int32 [B, T]
    mask_id: np.ndarray  # int32 [B, T]
    masks: np.ndarray  # bool [K, V]
    bias: np.ndarray | None = None  # float32 [B, V], added to the logits at every step
    rules: tuple[str, ...] = field(default_factory=tuple)  # names of dynamic rules to apply

    @property
    def batch(self) -> int:
        return self.forced.shape[0]


@dataclass(frozen=True)
class Sampling:
    temperature: float = 0.8  # 0: greedy
    top_k: int = 0  # 0: no cut
    top_p: float = 1.0  # 1: no cut
    seed: int = 0


# ----------------------------------------------------------------------------- logits rules
# Each takes (logits [B, V], context) and returns logits; disallowed tokens get NEG_INF.

def apply_mask(logits, allowed):
    return tf.where(allowed, logits, NEG_INF)


def rule_line_start(tables):
    """After a line mark or the form token a line begins: no punctuation, no end."""
    def rule(logits, ctx):
        at_start = tf.gather(tables["opens_line"], ctx["prev"])
        blocked = tf.logical_and(at_start[:, None], tables["not_line_opener"][None, :])
        return tf.where(blocked, NEG_INF, logits)
    return rule


def rule_end_after_period(tables):
    """A poem may end only after 。"""
    def rule(logits, ctx):
        blocked = tf.logical_and(tf.not_equal(ctx["prev"], tables["period"])[:, None],
                                 tables["is_eos"][None, :])
        return tf.where(blocked, NEG_INF, logits)
    return rule


RULES: dict[str, Callable] = {"line_start": rule_line_start, "end_after_period": rule_end_after_period}


def top_k_filter(logits, k):
    kth = tf.math.top_k(logits, k=k, sorted=True).values[:, -1:]
    return tf.where(logits < kth, NEG_INF, logits)


def top_p_filter(logits, p):
    """Keep the smallest set of most likely tokens whose probability reaches p."""
    sorted_logits = tf.sort(logits, axis=-1, direction="DESCENDING")
    probs = tf.nn.softmax(sorted_logits, axis=-1)
    before = tf.cumsum(probs, axis=-1, exclusive=True)
    kept = tf.where(before < p, sorted_logits, tf.float32.max)
    threshold = tf.reduce_min(kept, axis=-1, keepdims=True)
    return tf.where(logits < threshold, NEG_INF, logits)


# ----------------------------------------------------------------------------- the decoder

class Decoder:
    """The model's weights as constants and a compiled step loop over them."""

    def __init__(self, model, tokenizer: Tokenizer):
        self.tokenizer = tokenizer
        get = lambda name: [tf.constant(w) for w in model.get_layer(name).get_weights()]  # noqa: E731
        self.embedding = get("embedding")[0]
        self.lstm = []
        i = 0
        while any(layer.name == f"lstm_{i}" for layer in model.layers):
            kernel, recurrent, bias = get(f"lstm_{i}")
            # One matmul per step on [x, h]: fewer, larger matmuls are faster on a CPU.
            self.lstm.append((tf.concat([kernel, recurrent], axis=0), bias))
            i += 1
        self.projection = get("projection") if any(la.name == "projection" for la in model.layers) else None
        self.output = get("logits")
        self.vocab_size = int(self.output[0].shape[-1])
        self.hidden = [int(b.shape[0]) // 4 for _, b in self.lstm]
        self._tables = self._make_tables()
        self._compiled: dict[tuple, Callable] = {}

    def _make_tables(self) -> dict:
        tok = self.tokenizer
        v = len(tok)
        punct_or_end = np.zeros(v, bool)
        punct_or_end[[tok.comma, tok.period, tok.eos]] = True
        opens_line = np.zeros(v, bool)
        opens_line[[tok.comma, tok.period, tok.bos]] = True
        opens_line[[tok.form_token(f) for f in ("五绝", "七绝", "五律", "七律", "其他")]] = True
        is_eos = np.zeros(v, bool)
        is_eos[tok.eos] = True
        return {
            "opens_line": tf.constant(opens_line),
            "not_line_opener": tf.constant(punct_or_end),
            "is_eos": tf.constant(is_eos),
            "period": tf.constant(tok.period, tf.int32),
        }

    def step(self, token, states):
        """One token for every poem -> next-token logits and the new LSTM states."""
        x = tf.gather(self.embedding, token)
        new_states = []
        for (weights, bias), (h, c) in zip(self.lstm, states):
            z = tf.matmul(tf.concat([x, h], axis=1), weights) + bias
            i, f, g, o = tf.split(z, 4, axis=1)  # Keras's gate order
            c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
            h = tf.sigmoid(o) * tf.tanh(c)
            new_states.append((h, c))
            x = h
        if self.projection is not None:
            x = tf.matmul(x, self.projection[0]) + self.projection[1]
        return tf.matmul(x, self.output[0]) + self.output[1], new_states

    def zero_states(self, batch):
        return [(tf.zeros([batch, n]), tf.zeros([batch, n])) for n in self.hidden]

    def _loop(self, rules: tuple[str, ...], has_bias: bool, greedy: bool, top_k: int, use_top_p: bool):
        rule_fns = [RULES[name](self._tables) for name in rules]
        eos = self.tokenizer.eos
        pad = self.tokenizer.pad

        def run(forced, mask_id, masks, bias, temperature, top_p, seed):
            batch, length = tf.shape(forced)[0], tf.shape(forced)[1]
            tokens = tf.TensorArray(tf.int32, size=length)
            logprobs = tf.TensorArray(tf.float32, size=length)
            prev = tf.fill([batch], self.tokenizer.bos)
            done = tf.zeros([batch], tf.bool)
            states = self.zero_states(batch)
            t = tf.constant(0)

            def cond(t, prev, done, states, tokens, logprobs):
                return tf.logical_and(t < length, tf.logical_not(tf.reduce_all(done)))

            def body(t, prev, done, states, tokens, logprobs):
                logits, states = self.step(prev, states)
                raw = tf.nn.log_softmax(logits)
                if has_bias:
                    logits = logits + bias
                logits = apply_mask(logits, tf.gather(masks, mask_id[:, t]))
                ctx = {"prev": prev, "t": t}
                for fn in rule_fns:
                    logits = fn(logits, ctx)
                if greedy:
                    chosen = tf.argmax(logits, axis=-1, output_type=tf.int32)
                else:
                    logits = logits / temperature
                    if top_k:
                        logits = top_k_filter(logits, top_k)
                    if use_top_p:
                        logits = top_p_filter(logits, top_p)
                    # Gumbel-max with counter-based noise: row b's noise depends only on
                    # (seed, step, b), so a poem does not change with the batch size.
                    u = tf.random.stateless_uniform(tf.shape(logits), seed=tf.stack([seed, t]),
                                                    minval=1e-20, maxval=1.0)
                    chosen = tf.argmax(logits - tf.math.log(-tf.math.log(u)), axis=-1,
                                       output_type=tf.int32)
                force = forced[:, t]
                token = tf.where(force >= 0, force, chosen)
                token = tf.where(done, pad, token)
                lp = tf.gather(raw, token, batch_dims=1)
                tokens = tokens.write(t, token)
                logprobs = logprobs.write(t, tf.where(done, 0.0, lp))
                done = tf.logical_or(done, tf.equal(token, eos))
                return t + 1, token, done, states, tokens, logprobs

            _, _, _, _, tokens, logprobs = tf.while_loop(
                cond, body, (t, prev, done, states, tokens, logprobs),
                maximum_iterations=length,
            )
            return tf.transpose(tokens.stack()), tf.transpose(logprobs.stack())

        spec = [
            tf.TensorSpec([None, None], tf.int32),
            tf.TensorSpec([None, None], tf.int32),
            tf.TensorSpec([None, self.vocab_size], tf.bool),
            tf.TensorSpec([None, self.vocab_size], tf.float32),
            tf.TensorSpec([], tf.float32),
            tf.TensorSpec([], tf.float32),
            tf.TensorSpec([], tf.int32),
        ]
        return tf.function(run, input_signature=spec)

    def generate(self, plan: Plan, sampling: Sampling) -> tuple[np.ndarray, np.ndarray]:
        """Tokens [B, T] (positions 1..T; pad after <eos>) and their model log-probabilities."""
        greedy = sampling.temperature == 0
        top_k = 0 if greedy or not sampling.top_k else min(int(sampling.top_k), self.vocab_size)
        use_top_p = not greedy and sampling.top_p < 1.0
        key = (plan.rules, plan.bias is not None, greedy, top_k, use_top_p)
        if key not in self._compiled:
            self._compiled[key] = self._loop(*key)
        bias = plan.bias if plan.bias is not None else np.zeros((0, self.vocab_size), np.float32)
        tokens, logprobs = self._compiled[key](
            tf.constant(plan.forced, tf.int32), tf.constant(plan.mask_id, tf.int32),
            tf.constant(plan.masks, tf.bool), tf.constant(bias, tf.float32),
            tf.constant(max(sampling.temperature, 1e-6), tf.float32),
            tf.constant(sampling.top_p, tf.float32),
            tf.constant(sampling.seed % (2**31 - 1), tf.int32),
        )
        return tokens.numpy(), logprobs.numpy()


def check_sampling(temperature: float, top_k: int, top_p: float) -> None:
    from .errors import GenerationError

    if not isinstance(temperature, (int, float)) or not math.isfinite(temperature) or temperature < 0:
        raise GenerationError(f"temperature must be a finite number >= 0 (0 = greedy), got {temperature!r}")
    if not isinstance(top_k, int) or top_k < 0:
        raise GenerationError(f"top_k must be a whole number >= 0 (0 = off), got {top_k!r}")
    if not isinstance(top_p, (int, float)) or not math.isfinite(top_p) or not 0 < top_p <= 1:
        raise GenerationError(f"top_p must be in (0, 1] (1 = off), got {top_p!r}")
