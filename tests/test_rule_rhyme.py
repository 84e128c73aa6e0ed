import numpy as np
import tensorflow as tf

from poetgen.writing.rules import Rhyme


def test_rhyme_keeps_open_groups_and_unused_characters(tok, env, step, allowed_of):
    shan, shui, yue, feng = (tok.index[c] for c in "山水月風")
    rule = Rhyme(rhyme_at=np.array([[True], [True]]), groups=np.array([[False, True], [True, False]]))
    counts = np.zeros((2, len(tok)), np.int32)
    counts[1, shan] = 1  # poem 1 has written 山 already
    s = step(Rhyme, env, counts=counts, inputs=rule.inputs(), state=rule.init_state(2), batch=2)
    out = allowed_of(Rhyme.mask(tf.zeros([2, len(tok)]), s))
    # poem 0: only group 1 is open -> only 月; poem 1: group 0 open, 山 used -> 水 and 月
    assert [i for i, ok in enumerate(out[0]) if ok] == [yue]
    assert [i for i, ok in enumerate(out[1]) if ok] == sorted([shui, yue])
    assert not out[1][feng]


def test_rhyme_waits_off_its_positions_and_narrows_its_groups(tok, env, step, allowed_of):
    yue = tok.index["月"]
    rule = Rhyme(rhyme_at=np.array([[False, True]]), groups=np.array([[True, True]]))
    counts = np.zeros((1, len(tok)), np.int32)
    s = step(Rhyme, env, t=0, counts=counts, inputs=rule.inputs(), state=rule.init_state(1))
    assert all(allowed_of(Rhyme.mask(tf.zeros([1, len(tok)]), s))[0])
    assert Rhyme.update(tf.constant([yue]), s)["groups"].numpy().tolist() == [[True, True]]  # not a rhyme column
    s = step(Rhyme, env, t=1, counts=counts, inputs=rule.inputs(), state=rule.init_state(1))
    shan = tok.index["山"]
    assert Rhyme.update(tf.constant([shan]), s)["groups"].numpy().tolist() == [[True, False]]
    # the host-side narrowing (a rewrite's state) agrees with the loop's
    assert Rhyme.narrow(rule.groups, rule.rhyme_at[0], np.array([0, shan]), env.group_members).tolist() == [
        [True, False]]
