import numpy as np
import tensorflow as tf

from poetgen.writing.rules import THEME_FADE, Theme


def test_theme_pulls_until_a_keyword_is_written_then_fades(tok, env, step):
    shan, shui, yue = (tok.index[c] for c in "山水月")
    bias = np.zeros((2, len(tok)), np.float32)
    bias[0, shan], bias[0, shui] = 3.0, 1.2  # 山 the keyword, 水 a neighbour
    rule = Theme(bias)
    inputs = rule.inputs()
    assert inputs["keyword"][0].nonzero()[0].tolist() == [shan] and not inputs["keyword"][1].any()
    s = step(Theme, env, inputs=inputs, state=rule.init_state(2), batch=2)
    out = Theme.mask(tf.zeros([2, len(tok)]), s).numpy()
    np.testing.assert_allclose(out[0, [shan, shui, yue]], [3.0, 1.2, 0])
    assert not out[1].any()  # no theme: no pull
    seen = Theme.update(tf.constant([shui, shan]), s)["seen"].numpy().tolist()
    assert seen == [False, False]  # a neighbour is not the keyword; row 1 has no keyword
    seen = Theme.update(tf.constant([shan, shan]), s)["seen"]
    out = Theme.mask(tf.zeros([2, len(tok)]), s._replace(state={"seen": seen})).numpy()
    np.testing.assert_allclose(out[0, [shan, shui]], [3.0 * THEME_FADE, 1.2 * THEME_FADE], rtol=1e-6)
