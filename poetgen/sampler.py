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

NEG_INF = -1e9  # a finite "-inf": keeps softmax arithmetic free of NaN


@dataclass
class Plan:
    """forced[b, t] >= 0 forces token t+1 of poem b; otherwise masks[mask_id[b, t]] says
    which tokens may be sampled there. Position 0 is always <bos>."""

    forced: np.ndarray  # int32 [B, T]
    mask_id: np.ndarray  # int32 [B, T]
    masks: np.ndarray  # bool [K, V]
    bias: np.ndarray | None = None  # float32 [B, V], added to the logits at every step
    rules: tuple[str, ...] = field(default_factory=tuple)  # names of dynamic rules to apply
    rhyme_at: np.ndarray | None = None  # bool [B, T]: a rhyme position ("rhyme" rule)
    groups: np.ndarray | None = None  # bool [B, G]: rhyme groups still allowed at the start
    line_end: np.ndarray | None = None  # bool [B, T]: last character of a line ("no_copy")
    repeat_limit: int = 0  # "no_repeat": a character may appear at most this often
    layout: dict | None = None  # (line, position) -> column, for a regulated form

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


THEME_FADE = 0.4


def theme_keyword_mask(bias):
    """The theme's keyword characters: those carrying the row's largest bias."""
    return tf.logical_and(tf.equal(bias, tf.reduce_max(bias, axis=1, keepdims=True)), bias > 0)


def theme_bias_now(bias, faded, seen):
    """The theme pulls hard until one of its keywords is written, then gently (`faded`): every
    themed poem shows its theme without drowning in it."""
    return tf.where(seen[:, None], faded, bias)


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


def rule_rhyme(tables):
    """At a rhyme position only characters of a still-open 平水韵 group, never one already
    used in the poem (重韵). Groups narrow as rhymes are written (see `update_groups`)."""
    def rule(logits, ctx):
        allowed = tf.matmul(tf.cast(ctx["groups"], tf.float32), tables["group_members_t"]) > 0
        allowed = tf.logical_and(allowed, tf.equal(ctx["counts"], 0))
        blocked = tf.logical_and(ctx["rhyme_at"][:, None], tf.logical_not(allowed))
        return tf.where(blocked, NEG_INF, logits)
    return rule


def rule_no_repeat(tables):
    """No character more than `repeat_limit` times in a poem."""
    def rule(logits, ctx):
        return tf.where(ctx["counts"] >= ctx["repeat_limit"], NEG_INF, logits)
    return rule


def rule_no_copy(tables):
    """No line verbatim from the corpus: at a line's last character, block every character
    that would complete a corpus line; in free form, block the line mark after one.

    Completions are looked up by the hash of the line so far (one binary search per poem)
    in corpus lines sorted by the hash of all but their last character."""
    full, prefix, last = tables["corpus_lines"], tables["corpus_prefix"], tables["corpus_last"]

    def known(keys):
        pos = tf.minimum(tf.searchsorted(full, keys), tf.size(full) - 1)
        return tf.equal(tf.gather(full, pos), keys)

    def rule(logits, ctx):
        def block_completions():
            h = ctx["line_hash"]
            lo = tf.searchsorted(prefix, h, side="left")
            hi = tf.where(ctx["line_end"], tf.searchsorted(prefix, h, side="right"), lo)
            rows = tf.repeat(tf.range(tf.shape(h)[0]), hi - lo)
            tokens = tf.gather(last, tf.ragged.range(lo, hi).flat_values)
            hits = tf.scatter_nd(tf.stack([rows, tokens], axis=1), tf.ones_like(tokens), tf.shape(logits))
            return tf.where(hits > 0, NEG_INF, logits)

        logits = tf.cond(tf.reduce_any(ctx["line_end"]), block_completions, lambda: logits)
        copied = tf.logical_and(known(ctx["line_hash"]), ctx["line_len"] > 0)
        return tf.where(tf.logical_and(copied[:, None], tables["is_line_mark"][None, :]), NEG_INF, logits)
    return rule


def corpus_tables(lines: np.ndarray | None) -> dict:
    """lines: int64 [N, 2] of (hash of a corpus line but its last character, that character),
    as `rule_no_copy` looks them up."""
    if lines is None or len(lines) == 0:
        lines = np.array([[-1, 0]], np.int64)
    lines = lines[np.argsort(lines[:, 0], kind="stable")]
    return {
        "corpus_prefix": tf.constant(lines[:, 0].astype(np.int64)),
        "corpus_last": tf.constant(lines[:, 1].astype(np.int32)),
        "corpus_lines": tf.constant(np.unique(extend_hash(lines[:, 0], lines[:, 1])).astype(np.int64)),
    }


RULES: dict[str, Callable] = {
    "line_start": rule_line_start,
    "end_after_period": rule_end_after_period,
    "rhyme": rule_rhyme,
    "no_repeat": rule_no_repeat,
    "no_copy": rule_no_copy,
}

HASH_BASE, HASH_MOD = 1_000_003, 2_147_483_647


def extend_hash(h, token):
    """Polynomial hash of a line, one token more. Same arithmetic in numpy and TF (int64)."""
    return (h * HASH_BASE + token + 1) % HASH_MOD


def line_hash(ids) -> int:
    h = 0
    for t in ids:
        h = (h * HASH_BASE + int(t) + 1) % HASH_MOD
    return h


def top_k_filter(logits, k):
    """Keep the k most likely tokens; also returns their logits, sorted, for top_p_filter."""
    values = tf.math.top_k(logits, k=k, sorted=True).values
    return tf.where(logits < values[:, -1:], NEG_INF, logits), values


def top_p_filter(logits, p, candidates: int = 256, top_values=None):
    """Keep the smallest set of most likely tokens whose probability reaches p.

    Sorting the whole vocabulary at every step is the slow part on a CPU, so the nucleus is
    looked for among the top `candidates` first; only when some row's candidates hold less
    than p of the mass is the whole vocabulary sorted. The result is exact either way.
    top_values: the sorted top-k logits when a top-k cut was just made (every other token is
    masked), which hold the whole mass and so the nucleus: no pass over the vocabulary."""
    def threshold(sorted_logits, log_z):
        probs = tf.exp(sorted_logits - log_z)
        before = tf.cumsum(probs, axis=-1, exclusive=True)
        kept = tf.where(before < p, sorted_logits, tf.float32.max)
        return tf.reduce_min(kept, axis=-1, keepdims=True), tf.reduce_sum(probs, axis=-1)

    if top_values is not None:
        cut, _ = threshold(top_values, tf.reduce_logsumexp(top_values, axis=-1, keepdims=True))
        return tf.where(logits < cut, NEG_INF, logits)
    log_z = log_normalizer(logits)[:, None]
    top_values = tf.math.top_k(logits, k=min(candidates, int(logits.shape[-1])), sorted=True).values
    cut, mass = threshold(top_values, log_z)
    cut = tf.cond(tf.reduce_all(mass >= p), lambda: cut,
                  lambda: threshold(tf.sort(logits, axis=-1, direction="DESCENDING"), log_z)[0])
    return tf.where(logits < cut, NEG_INF, logits)


# ----------------------------------------------------------------------------- sampling

def log_normalizer(logits):
    """log sum exp over each row: fewer passes over [B, V] than tf.reduce_logsumexp."""
    top = tf.reduce_max(logits, axis=-1)
    return top + tf.math.log(tf.reduce_sum(tf.exp(logits - top[:, None]), axis=-1))


SAMPLE_BLOCK = 64


def sample_rows(logits, u):
    """One token per row drawn from softmax(logits), by inverting its distribution at u [B]
    in [0, 1): a row's token depends on its logits and its own u only.

    One uniform number per row instead of Gumbel noise over the whole vocabulary (whose random
    numbers and logarithms were most of a step's cost at batch 64), and a two-level search:
    cumulative sums over blocks of SAMPLE_BLOCK tokens, then within the chosen block, since a
    cumulative sum over the whole vocabulary is slow on a CPU."""
    batch, vocab = tf.shape(logits)[0], tf.shape(logits)[1]
    blocks = (vocab + SAMPLE_BLOCK - 1) // SAMPLE_BLOCK
    weights = tf.exp(logits - tf.reduce_max(logits, axis=-1, keepdims=True))
    weights = tf.reshape(tf.pad(weights, [[0, 0], [0, blocks * SAMPLE_BLOCK - vocab]]),
                         [batch, blocks, SAMPLE_BLOCK])
    block_cumulative = tf.cumsum(tf.reduce_sum(weights, axis=2), axis=1)
    block = _first_above(block_cumulative, u * block_cumulative[:, -1])
    before = tf.gather(tf.pad(block_cumulative, [[0, 0], [1, 0]]), block, batch_dims=1)
    within = tf.cumsum(tf.gather(weights, block, batch_dims=1), axis=1)
    return block * SAMPLE_BLOCK + _first_above(within, u * block_cumulative[:, -1] - before)


def _first_above(cumulative, target):
    """The first index whose cumulative weight exceeds target: always one of nonzero weight,
    as target is kept below the total whatever rounding did."""
    target = tf.clip_by_value(target, 0.0, tf.math.nextafter(cumulative[:, -1], 0.0))
    return tf.searchsorted(cumulative, target[:, None], side="right")[:, 0]


# ----------------------------------------------------------------------------- the decoder

def lstm_gates(z, c):
    """Keras's LSTM cell from its pre-activations z = x @ kernel + h @ recurrent + bias."""
    i, f, g, o = tf.split(z, 4, axis=1)  # Keras's gate order
    c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
    return tf.sigmoid(o) * tf.tanh(c), c


class Decoder:
    """The model's weights as constants and a compiled step loop over them."""

    def __init__(self, model, tokenizer: Tokenizer, group_members: np.ndarray | None = None,
                 corpus_lines: np.ndarray | None = None):
        self.tokenizer = tokenizer
        get = lambda name: [tf.constant(w) for w in model.get_layer(name).get_weights()]  # noqa: E731
        names = {layer.name for layer in model.layers}
        self.embedding = get("embedding")[0]
        kernel, recurrent, bias = get("lstm_0")
        # The first layer's input projection depends on the token alone: one table row per
        # token (embedding @ kernel + bias, computed once) replaces a matmul at every step.
        self.input_table = tf.matmul(self.embedding, kernel) + bias
        # Stored transposed: oneDNN's h @ U^T at batch 64 is 20% faster than h @ U (measured).
        self.recurrent_t = tf.constant(tf.transpose(recurrent).numpy())
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
        self.n_groups = group_members.shape[1]
        self.has_corpus = corpus_lines is not None
        self._tables = self._make_tables(group_members, corpus_lines)
        self._compiled: dict[tuple, Callable] = {}

    def _make_tables(self, group_members: np.ndarray, corpus_lines: np.ndarray | None) -> dict:
        tok = self.tokenizer
        v = len(tok)
        punct_or_end = np.zeros(v, bool)
        punct_or_end[[tok.comma, tok.period, tok.eos]] = True
        line_mark = np.zeros(v, bool)
        line_mark[[tok.comma, tok.period]] = True
        opens_line = np.zeros(v, bool)
        opens_line[[tok.comma, tok.period, tok.bos, *tok.form_ids]] = True
        is_eos = np.zeros(v, bool)
        is_eos[tok.eos] = True
        return {**corpus_tables(corpus_lines),
            "opens_line": tf.constant(opens_line),
            "not_line_opener": tf.constant(punct_or_end),
            "is_line_mark": tf.constant(line_mark),
            "is_char": tf.constant(np.arange(v) >= tok.first_char),
            "is_eos": tf.constant(is_eos),
            "period": tf.constant(tok.period, tf.int32),
            "group_members": tf.constant(group_members, tf.bool),
            "group_members_t": tf.constant(group_members.T, tf.float32),
        }

    def step(self, token, states):
        """One token for every poem -> next-token logits and the new LSTM states."""
        h, states = self.recur(token, states)
        return self.head(h), states

    def recur(self, token, states):
        """One token for every poem -> the top LSTM layer's output and the new states."""
        h, c = states[0]
        h, c = lstm_gates(tf.gather(self.input_table, token) + tf.matmul(h, self.recurrent_t, transpose_b=True), c)
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

    def zero_states(self, batch):
        return [(tf.zeros([batch, n]), tf.zeros([batch, n])) for n in self.hidden]

    def _loop(self, rules: tuple[str, ...], has_bias: bool, greedy: bool, use_top_k: bool, use_top_p: bool,
              merged: bool = False):
        tables = self._tables
        rule_fns = [RULES[name](tables) for name in rules]
        counts_used = "rhyme" in rules or "no_repeat" in rules
        tok = self.tokenizer

        def run(forced, mask_id, masks, bias, rhyme_at, line_end, repeat_limit,
                temperature, top_k, top_p, seeds, row_request, row_index, start, stop_at):
            batch, length = tf.shape(forced)[0], tf.shape(forced)[1]
            t0 = start["t"]
            span = stop_at - t0
            state = {**start, "tokens": tf.TensorArray(tf.int32, size=span),
                     "logprobs": tf.TensorArray(tf.float32, size=span)}
            if has_bias:  # constant over the loop: computed once
                keyword, faded = theme_keyword_mask(bias), bias * THEME_FADE

            def choose(logits, state, t):
                """The next token of every poem not yet settled: rules, then the draw."""
                if has_bias:
                    logits = logits + theme_bias_now(bias, faded, state["theme_seen"])
                logits = apply_mask(logits, tf.gather(masks, mask_id[:, t]))
                ctx = {**state, "rhyme_at": rhyme_at[:, t], "line_end": line_end[:, t],
                       "repeat_limit": repeat_limit}
                for fn in rule_fns:
                    logits = fn(logits, ctx)
                if greedy:
                    chosen = tf.argmax(logits, axis=-1, output_type=tf.int32)
                else:
                    logits = logits / temperature
                    top_values = None
                    if use_top_k:
                        logits, top_values = top_k_filter(logits, top_k)
                    if use_top_p:
                        logits = top_p_filter(logits, top_p, top_values=top_values)
                    # Counter-based random numbers: row b's depends only on (seed, step, b), so
                    # a poem does not change with the batch size, nor with the requests it is
                    # merged with.
                    if merged:
                        rows = tf.reduce_max(row_index) + 1

                        def request_uniforms(seed):
                            return tf.random.stateless_uniform([rows], seed=tf.stack([seed, t]))

                        uniforms = tf.map_fn(request_uniforms, seeds, fn_output_signature=tf.float32)
                        u = tf.gather_nd(uniforms, tf.stack([row_request, row_index], axis=1))
                    else:
                        u = tf.random.stateless_uniform([batch], seed=tf.stack([seeds[0], t]))
                    chosen = sample_rows(logits, u)
                return chosen

            def cond(state):
                return tf.logical_and(tf.logical_not(tf.reduce_all(state["done"])), state["t"] < stop_at)

            def body(state):
                t, prev = state["t"], state["prev"]
                top, lstm = self.recur(prev, state["lstm"])
                force = forced[:, t]

                def choose_or_take(logits):
                    # Where every poem has its token already (a mark, an acrostic character,
                    # or finished), the rules and the draw are skipped: their result is unused.
                    settled = tf.reduce_all(tf.logical_or(force >= 0, state["done"]))
                    chosen = tf.cond(settled, lambda: tf.zeros_like(prev), lambda: choose(logits, state, t))
                    return tf.where(force >= 0, force, chosen)

                def with_logits():
                    logits = self.head(top)
                    token = choose_or_take(logits)
                    return token, tf.gather(logits, token, batch_dims=1) - log_normalizer(logits)

                def marks_only():
                    return force, tf.zeros([batch])

                # A forced mark or end needs no logits: only characters' log-probabilities make
                # a poem's score. Where that holds for every poem, the output layer (about half
                # of a step's work) is skipped.
                forced_mark = tf.logical_and(force >= 0, tf.logical_not(tf.gather(tables["is_char"],
                                                                                  tf.maximum(force, 0))))
                token, logprob = tf.cond(tf.reduce_all(tf.logical_or(forced_mark, state["done"])),
                                         marks_only, with_logits)
                token = tf.where(state["done"], tok.pad, token)
                is_char = tf.gather(tables["is_char"], token)
                new_groups = tf.where(
                    rhyme_at[:, t][:, None],
                    tf.logical_and(state["groups"], tf.gather(tables["group_members"], token)),
                    state["groups"])
                counts = state["counts"]
                if counts_used:  # a [B, V] update at every step: only for the rules that read it
                    counts = tf.tensor_scatter_nd_add(counts, tf.stack([tf.range(batch), token], axis=1),
                                                      tf.cast(is_char, tf.int32))
                new_hash = tf.where(is_char, extend_hash(state["line_hash"], tf.cast(token, tf.int64)), 0)
                new_len = tf.where(is_char, state["line_len"] + 1, 0)
                theme_seen = state["theme_seen"]
                if has_bias:
                    theme_seen = tf.logical_or(theme_seen, tf.gather(keyword, token, batch_dims=1))
                done = tf.logical_or(state["done"], tf.equal(token, tok.eos))
                done = tf.logical_or(done, t + 1 >= length)
                return ({
                    "t": t + 1, "prev": token, "done": done, "lstm": lstm, "counts": counts,
                    "groups": new_groups, "line_hash": new_hash, "line_len": new_len,
                    "theme_seen": theme_seen,
                    "tokens": state["tokens"].write(t - t0, token),
                    "logprobs": state["logprobs"].write(t - t0, tf.where(state["done"], 0.0, logprob)),
                },)

            (state,) = tf.while_loop(cond, body, (state,), maximum_iterations=span)
            # Steps the loop never reached (all poems ended early) stay padding.
            written = state["t"] - t0
            tokens = tf.concat([state["tokens"].stack()[:written],
                                tf.fill([span - written, batch], tok.pad)], axis=0)
            logprobs = tf.concat([state["logprobs"].stack()[:written],
                                  tf.zeros([span - written, batch])], axis=0)
            end = {k: state[k] for k in start}
            end["t"] = stop_at  # the next chunk's positions follow on, whether or not all ended
            return tf.transpose(tokens), tf.transpose(logprobs), end

        v, g = self.vocab_size, self.n_groups
        spec = [
            tf.TensorSpec([None, None], tf.int32),  # forced
            tf.TensorSpec([None, None], tf.int32),  # mask_id
            tf.TensorSpec([None, v], tf.bool),  # masks
            tf.TensorSpec([None, v], tf.float32),  # bias
            tf.TensorSpec([None, None], tf.bool),  # rhyme_at
            tf.TensorSpec([None, None], tf.bool),  # line_end
            tf.TensorSpec([], tf.int32),  # repeat_limit
            tf.TensorSpec([], tf.float32),  # temperature
            tf.TensorSpec([], tf.int32),  # top_k
            tf.TensorSpec([], tf.float32),  # top_p
            tf.TensorSpec([None], tf.int32),  # seeds: one per request
            tf.TensorSpec([None], tf.int32),  # row_request: the request of each row
            tf.TensorSpec([None], tf.int32),  # row_index: the row's index within its request
            {  # where decoding starts: the state a previous chunk ended in, or a fresh one
                "t": tf.TensorSpec([], tf.int32), "prev": tf.TensorSpec([None], tf.int32),
                "done": tf.TensorSpec([None], tf.bool),
                "lstm": [(tf.TensorSpec([None, n]), tf.TensorSpec([None, n])) for n in self.hidden],
                "counts": tf.TensorSpec([None, v], tf.int32), "groups": tf.TensorSpec([None, g], tf.bool),
                "line_hash": tf.TensorSpec([None], tf.int64), "line_len": tf.TensorSpec([None], tf.int32),
                "theme_seen": tf.TensorSpec([None], tf.bool),
            },
            tf.TensorSpec([], tf.int32),  # stop_at: decode positions start["t"] .. stop_at - 1
        ]
        return tf.function(run, input_signature=spec)

    def generate(self, plan: Plan, sampling: Sampling) -> tuple[np.ndarray, np.ndarray]:
        """Tokens [B, T] (positions 1..T; pad after <eos>) and the model's log-probabilities of
        the characters among them (0 where the plan forces a mark or the end)."""
        tokens, logprobs, _ = self.advance_many([(plan, sampling, None)], plan.forced.shape[1])[0]
        return tokens, logprobs

    def start_state(self, plan: Plan) -> dict:
        """The decoding state before the first token: what a chunked decode starts from."""
        b = plan.batch
        return {
            "t": 0, "prev": np.full(b, self.tokenizer.bos, np.int32), "done": np.zeros(b, bool),
            "lstm": [(np.zeros((b, n), np.float32), np.zeros((b, n), np.float32)) for n in self.hidden],
            "counts": np.zeros((b, self.vocab_size), np.int32),
            "groups": plan.groups if plan.groups is not None else np.ones((b, self.n_groups), bool),
            "line_hash": np.zeros(b, np.int64), "line_len": np.zeros(b, np.int32),
            "theme_seen": np.zeros(b, bool),
        }

    def merge_key(self, plan: Plan, sampling: Sampling, start: dict | None = None, stop_at: int = 0) -> tuple:
        """Requests with equal keys can share one pass: same compiled loop, same positions and
        sampling; only their seeds, per-row tables and states differ."""
        greedy = sampling.temperature == 0
        top_k = 0 if greedy or not sampling.top_k else min(int(sampling.top_k), self.vocab_size)
        use_top_p = not greedy and sampling.top_p < 1.0
        return (plan.rules, plan.bias is not None, greedy, top_k > 0, use_top_p, plan.forced.shape[1],
                plan.repeat_limit, sampling.temperature, top_k, sampling.top_p, start["t"] if start else 0,
                stop_at or plan.forced.shape[1])

    def generate_many(self, requests: list[tuple[Plan, Sampling]]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Several whole requests in one batched pass; each gets exactly its tokens alone."""
        chunks = self.advance_many([(plan, sampling, None) for plan, sampling in requests],
                                   requests[0][0].forced.shape[1])
        return [(tokens, logprobs) for tokens, logprobs, _ in chunks]

    def advance_many(self, requests: list[tuple[Plan, Sampling, dict | None]],
                     stop_at: int) -> list[tuple[np.ndarray, np.ndarray, dict]]:
        """Decode positions start["t"] .. stop_at - 1 of several requests of one merge_key in one
        batched pass (start None: from the beginning). Returns each request's tokens and
        log-probabilities of those positions and the state to continue from: decoding in
        chunks gives exactly the tokens of one pass."""
        requests = [(plan, sampling, start or self.start_state(plan)) for plan, sampling, start in requests]
        keys = {self.merge_key(plan, sampling, start, stop_at) for plan, sampling, start in requests}
        if len(keys) != 1:
            raise ValueError("generate_many needs requests of one merge_key")
        (key,) = keys
        merged = len(requests) > 1
        loop_key = (*key[:5], merged)
        if loop_key not in self._compiled:
            self._compiled[loop_key] = self._loop(*loop_key)
        plans = [plan for plan, _, _ in requests]
        starts = [start for _, _, start in requests]
        sizes = [plan.batch for plan in plans]
        t = plans[0].forced.shape[1]
        offsets = np.cumsum([0] + [plan.masks.shape[0] for plan in plans[:-1]])

        def stack(name: str, default) -> np.ndarray:
            return np.concatenate([getattr(p, name) if getattr(p, name) is not None else default(p) for p in plans])

        def no(p: Plan) -> np.ndarray:
            return np.zeros((p.batch, t), bool)

        start = {k: tf.constant(np.concatenate([s[k] for s in starts])) for k in starts[0]
                 if k not in ("t", "lstm")}
        start["t"] = tf.constant(starts[0]["t"], tf.int32)
        start["lstm"] = [tuple(tf.constant(np.concatenate([s["lstm"][i][j] for s in starts])) for j in (0, 1))
                         for i in range(len(self.hidden))]
        bias = stack("bias", None) if key[1] else np.zeros((0, self.vocab_size), np.float32)
        sampling = requests[0][1]
        top_k = key[8]
        tokens, logprobs, end = self._compiled[loop_key](
            tf.constant(np.concatenate([p.forced for p in plans]), tf.int32),
            tf.constant(np.concatenate([p.mask_id + o for p, o in zip(plans, offsets)]), tf.int32),
            tf.constant(np.concatenate([p.masks for p in plans]), tf.bool),
            tf.constant(bias, tf.float32),
            tf.constant(stack("rhyme_at", no)),
            tf.constant(stack("line_end", no)),
            tf.constant(plans[0].repeat_limit, tf.int32),
            tf.constant(max(sampling.temperature, 1e-6), tf.float32),
            tf.constant(max(top_k, 1), tf.int32),
            tf.constant(sampling.top_p, tf.float32),
            tf.constant([s.seed % (2**31 - 1) for _, s, _ in requests], tf.int32),
            tf.constant(np.repeat(np.arange(len(plans)), sizes), tf.int32),
            tf.constant(np.concatenate([np.arange(n) for n in sizes]), tf.int32),
            start, tf.constant(stop_at, tf.int32),
        )
        cuts = np.cumsum(sizes)[:-1]
        tokens, logprobs = np.split(tokens.numpy(), cuts), np.split(logprobs.numpy(), cuts)
        rows = {k: np.split(v.numpy(), cuts) for k, v in end.items() if k not in ("t", "lstm")}
        lstm = [[np.split(x.numpy(), cuts) for x in layer] for layer in end["lstm"]]
        ends = [{**{k: rows[k][r] for k in rows}, "t": stop_at,
                 "lstm": [(layer[0][r], layer[1][r]) for layer in lstm]} for r in range(len(requests))]
        return list(zip(tokens, logprobs, ends))


def check_sampling(temperature: float, top_k: int, top_p: float) -> None:
    from .errors import GenerationError

    if not isinstance(temperature, (int, float)) or not math.isfinite(temperature) or temperature < 0:
        raise GenerationError(f"temperature must be a finite number >= 0 (0 = greedy), got {temperature!r}")
    if not isinstance(top_k, int) or top_k < 0:
        raise GenerationError(f"top_k must be a whole number >= 0 (0 = off), got {top_k!r}")
    if not isinstance(top_p, (int, float)) or not math.isfinite(top_p) or not 0 < top_p <= 1:
        raise GenerationError(f"top_p must be in (0, 1] (1 = off), got {top_p!r}")
