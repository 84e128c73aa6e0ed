import numpy as np
import tensorflow as tf

from poetgen.writing.rules import Env, NoCopy, extend_hash, line_hash


def corpus_env(env, lines):
    return Env(env.tokenizer, env.vocab_size, env.group_members, np.array(lines, np.int64))


def test_hash_is_the_same_in_numpy_and_tensorflow():
    ids = [17, 4000, 6737, 2]
    h = tf.constant(0, tf.int64)
    for t in ids:
        h = extend_hash(h, tf.constant(t, tf.int64))
    assert int(h) == line_hash(ids)


def test_no_copy_blocks_every_completion_at_line_ends_and_a_mark_after_a_copied_line(tok, env, step, allowed_of):
    shan, shui = tok.index["山"], tok.index["水"]
    # corpus lines: 山水, 山山, 水山, and 水 alone
    env = corpus_env(env, [[line_hash([shan]), shui], [line_hash([shan]), shan], [line_hash([shui]), shan],
                           [line_hash([]), shui]])
    h_shan, h_shui = line_hash([shan]), line_hash([shui])
    rule = NoCopy(line_end=np.array([[True], [True], [False]]))
    state = {"line_hash": np.array([h_shan, h_shui, h_shan], np.int64), "line_len": np.array([1, 1, 1], np.int32)}
    out = allowed_of(NoCopy.mask(tf.zeros([3, len(tok)]), step(NoCopy, env, inputs=rule.inputs(), state=state,
                                                                  batch=3)))
    assert not out[0][shan] and not out[0][shui]  # 山山 and 山水 are both corpus lines
    assert not out[1][shan] and out[1][shui]  # after 水 only 水山 is
    assert out[2][shan] and out[2][shui]  # not a line end: the rule waits
    # "水" alone is a corpus line: the mark that would close it is blocked
    assert not out[1][tok.comma] and not out[1][tok.period] and out[0][tok.comma]


def test_no_copy_state_follows_the_line(tok, env, step):
    rule = NoCopy(line_end=np.zeros((1, 3), bool))
    s = step(NoCopy, env, inputs=rule.inputs(), state=rule.init_state(1))
    new = NoCopy.update(tf.constant([tok.index["山"]]), s)
    assert int(new["line_hash"][0]) == line_hash([tok.index["山"]]) and int(new["line_len"][0]) == 1
    s = s._replace(state=new)
    after_mark = NoCopy.update(tf.constant([tok.comma]), s)
    assert int(after_mark["line_hash"][0]) == 0 and int(after_mark["line_len"][0]) == 0
