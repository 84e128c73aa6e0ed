import tensorflow as tf

from poetgen.writing.rules import EndAfterPeriod


def test_a_poem_ends_only_after_a_period(tok, env, step, allowed_of):
    prev = [tok.period, tok.comma, tok.index["山"]]
    out = allowed_of(EndAfterPeriod.mask(tf.zeros([3, len(tok)]), step(EndAfterPeriod, env, prev=prev, batch=3)))
    assert [row[tok.eos] for row in out] == [True, False, False]
    assert all(row[tok.index["水"]] for row in out)
