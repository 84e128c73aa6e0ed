import numpy as np
import tensorflow as tf

from poetgen.writing.rules import MAX_CHAINS, CiRhyme, Env


def ci_env(tok):
    """Three 部: 山 平 in 0; 水 平 in 0 and 1; 風 平 in 1; 月 仄 in 2."""
    members = np.zeros((len(tok), 2, 3), bool)
    members[tok.index["山"], 0, 0] = True
    members[tok.index["水"], 0, [0, 1]] = True
    members[tok.index["風"], 0, 1] = True
    members[tok.index["月"], 1, 2] = True
    return Env(tok, len(tok), np.zeros((len(tok), 1), bool), None, members)


def rule_of(chain_at, tone_at, batch=1):
    open_bu = np.ones((batch, MAX_CHAINS, 3), bool)
    return CiRhyme(np.array([chain_at] * batch, np.int32), np.array([tone_at] * batch, np.int32), open_bu)


def test_a_ping_rhyme_takes_the_open_bu_ping_characters_not_yet_used(tok, step, allowed_of):
    env = ci_env(tok)
    rule = rule_of([0, -1], [0, 0], batch=2)
    rule.open_bu[1, 0] = [False, True, False]  # poem 1: chain 0 may only rhyme in 部 1
    counts = np.zeros((2, len(tok)), np.int32)
    counts[0, tok.index["山"]] = 1  # poem 0 has written 山 already
    s = step(CiRhyme, env, t=0, counts=counts, inputs=rule.inputs(), state=rule.init_state(2), batch=2)
    out = allowed_of(CiRhyme.mask(tf.zeros([2, len(tok)]), s))
    chars = lambda row: {tok.tokens[i] for i, ok in enumerate(row) if ok and i >= tok.first_char}  # noqa: E731
    assert chars(out[0]) == {"水", "風"}  # 月 is 仄, 山 used
    assert chars(out[1]) == {"水", "風"}  # 山 is not in 部 1
    # off a rhyme column nothing is masked
    s = step(CiRhyme, env, t=1, counts=counts, inputs=rule.inputs(), state=rule.init_state(2), batch=2)
    assert all(all(row) for row in allowed_of(CiRhyme.mask(tf.zeros([2, len(tok)]), s)))


def test_a_ze_rhyme_takes_ze_characters(tok, step, allowed_of):
    env = ci_env(tok)
    rule = rule_of([1], [1])
    s = step(CiRhyme, env, t=0, counts=np.zeros((1, len(tok)), np.int32), inputs=rule.inputs(),
             state=rule.init_state(1))
    out = allowed_of(CiRhyme.mask(tf.zeros([1, len(tok)]), s))
    assert [tok.tokens[i] for i, ok in enumerate(out[0]) if ok and i >= tok.first_char] == ["月"]


def test_writing_a_rhyme_narrows_its_own_chain_only(tok, step):
    env = ci_env(tok)
    rule = rule_of([0, 1], [0, 0])
    counts = np.zeros((1, len(tok)), np.int32)
    s = step(CiRhyme, env, t=0, counts=counts, inputs=rule.inputs(), state=rule.init_state(1))
    opened = CiRhyme.update(tf.constant([tok.index["山"]]), s)["open"].numpy()
    assert opened[0, 0].tolist() == [True, False, False]  # chain 0: 山's 部
    assert opened[0, 1].all() and opened[0, 2:].all()  # the other chains untouched
