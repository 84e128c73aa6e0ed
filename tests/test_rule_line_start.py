import tensorflow as tf

from poetgen.writing.rules import LineStart


def test_after_a_mark_or_the_opening_a_line_begins(tok, env, step, allowed_of):
    prev = [tok.comma, tok.form_token("五绝"), tok.index["山"]]
    out = allowed_of(LineStart.mask(tf.zeros([3, len(tok)]), step(LineStart, env, prev=prev, batch=3)))
    for row in out[:2]:
        assert not row[tok.comma] and not row[tok.period] and not row[tok.eos] and row[tok.index["山"]]
    assert all(out[2])  # inside a line everything stays open
