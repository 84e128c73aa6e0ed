import numpy as np
import tensorflow as tf

from poetgen.writing.rules import NoRepeat


def test_a_character_at_its_limit_is_blocked(tok, env, step, allowed_of):
    rule = NoRepeat(limit=2, batch=2)
    counts = np.zeros((2, len(tok)), np.int32)
    counts[0, tok.index["山"]] = 2
    counts[1, tok.index["山"]] = 1
    out = allowed_of(NoRepeat.mask(tf.zeros([2, len(tok)]), step(NoRepeat, env, counts=counts,
                                                                  inputs=rule.inputs(), batch=2)))
    assert not out[0][tok.index["山"]] and out[0][tok.index["水"]]
    assert out[1][tok.index["山"]]
