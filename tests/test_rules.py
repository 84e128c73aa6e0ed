"""Each logits rule alone, on hand-made logits and context: no model involved."""

import numpy as np
import tensorflow as tf

from poetgen.sampler import (
    NEG_INF,
    corpus_tables,
    extend_hash,
    line_hash,
    rule_end_after_period,
    rule_line_start,
    rule_no_copy,
    rule_no_repeat,
    rule_rhyme,
    theme_bias_now,
    theme_keyword_mask,
)

V = 6  # 0 pad, 1 '，', 2 '。', 3 <eos>, 4 and 5 characters
COMMA, PERIOD, EOS = 1, 2, 3


def allowed(logits) -> list[list[bool]]:
    return (logits.numpy() > NEG_INF / 2).tolist()


def flat(batch=2):
    return tf.zeros([batch, V])


TABLES = {
    "opens_line": tf.constant([True, True, True, False, False, False]),
    "not_line_opener": tf.constant([False, True, True, True, False, False]),
    "is_line_mark": tf.constant([False, True, True, False, False, False]),
    "is_eos": tf.constant([False, False, False, True, False, False]),
    "period": tf.constant(PERIOD),
    # token 4 rhymes in group 0, token 5 in groups 0 and 1
    "group_members_t": tf.constant(np.array([[0, 0, 0, 0, 1, 1], [0, 0, 0, 0, 0, 1]], np.float32)),
    "vocab_ids": tf.range(V, dtype=tf.int64),
}


def test_line_start_blocks_punctuation_and_end_after_a_line_mark():
    out = rule_line_start(TABLES)(flat(), {"prev": tf.constant([COMMA, 4])})
    assert allowed(out) == [[True, False, False, False, True, True], [True] * V]


def test_end_only_after_a_period():
    out = rule_end_after_period(TABLES)(flat(), {"prev": tf.constant([PERIOD, COMMA])})
    assert allowed(out)[0][EOS] and not allowed(out)[1][EOS]


def test_rhyme_keeps_open_groups_and_unused_characters():
    ctx = {
        "groups": tf.constant([[False, True], [True, False]]),
        "counts": tf.constant([[0] * V, [0, 0, 0, 0, 1, 0]]),
        "rhyme_at": tf.constant([True, True]),
    }
    out = rule_rhyme(TABLES)(flat(), ctx)
    # poem 0: only group 1 is open -> only token 5; poem 1: group 0 open, token 4 already used
    assert allowed(out) == [[False, False, False, False, False, True], [False, False, False, False, False, True]]
    ctx["rhyme_at"] = tf.constant([False, False])
    assert allowed(rule_rhyme(TABLES)(flat(), ctx)) == [[True] * V, [True] * V]


def test_no_repeat_blocks_characters_at_the_limit():
    ctx = {"counts": tf.constant([[0, 0, 0, 0, 2, 1]]), "repeat_limit": tf.constant(2)}
    assert allowed(rule_no_repeat(TABLES)(flat(1), ctx)) == [[True, True, True, True, False, True]]


def test_no_copy_blocks_a_completing_character_and_a_closing_mark():
    corpus = np.array([[line_hash([4]), 5], [line_hash([]), 5]], np.int64)  # the lines "4 5" and "5"
    tables = {**TABLES, **corpus_tables(corpus)}
    h4 = extend_hash(np.int64(0), np.int64(4))
    ctx = {
        "line_hash": tf.constant([h4, h4], tf.int64),
        "line_len": tf.constant([1, 1]),
        "line_end": tf.constant([True, False]),
    }
    out = allowed(rule_no_copy(tables)(flat(), ctx))
    assert out[0][5] is False and out[0][4] is True  # "4 5" is a corpus line
    assert out[1][5] is True  # not a line end: the rule waits
    h5 = extend_hash(np.int64(0), np.int64(5))
    ctx = {"line_hash": tf.constant([h5], tf.int64), "line_len": tf.constant([1]),
           "line_end": tf.constant([False])}
    out = allowed(rule_no_copy(tables)(flat(1), ctx))
    assert out[0][COMMA] is False and out[0][PERIOD] is False  # "5" alone would be a corpus line


def test_hash_is_the_same_in_numpy_and_tensorflow():
    ids = [17, 4000, 6737, 2]
    h = tf.constant(0, tf.int64)
    for t in ids:
        h = extend_hash(h, tf.constant(t, tf.int64))
    assert int(h) == line_hash(ids)


def test_no_copy_blocks_every_completion_of_the_line_so_far_and_only_at_line_ends():
    four = line_hash([4])
    corpus = np.array([[four, 5], [four, 4], [line_hash([5]), 4], [four, 5]], np.int64)
    tables = {**TABLES, **corpus_tables(corpus)}
    h4 = extend_hash(np.int64(0), np.int64(4))
    h5 = extend_hash(np.int64(0), np.int64(5))
    ctx = {"line_hash": tf.constant([h4, h5, h4], tf.int64), "line_len": tf.constant([1, 1, 1]),
           "line_end": tf.constant([True, True, False])}
    out = allowed(rule_no_copy(tables)(flat(3), ctx))
    assert out[0][4:] == [False, False]  # "4 4" and "4 5" are both corpus lines
    assert out[1][4:] == [False, True]  # after "5" only "5 4" is
    assert out[2][4:] == [True, True]


def test_theme_bias_fades_once_a_keyword_is_written():
    # token 4 is the keyword (largest bias), token 5 a neighbour; the last row has no theme
    bias = tf.constant([[0, 0, 0, 0, 3.0, 1.2], [0, 0, 0, 0, 3.0, 1.2], [0] * 6], tf.float32)
    keyword = theme_keyword_mask(bias).numpy()
    assert keyword.tolist() == [[False] * 4 + [True, False]] * 2 + [[False] * 6]
    seen = tf.constant([False, True, True])
    out = theme_bias_now(bias, bias * 0.5, seen).numpy()
    np.testing.assert_allclose(out[0], [0, 0, 0, 0, 3.0, 1.2])  # not yet written: full pull
    np.testing.assert_allclose(out[1], [0, 0, 0, 0, 1.5, 0.6])
    np.testing.assert_allclose(out[2], [0] * 6)
