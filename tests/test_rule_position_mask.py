import numpy as np
import tensorflow as tf

from poetgen.writing.rules import PositionMask


def test_each_column_takes_its_own_mask_and_merged_requests_keep_theirs(tok, env, step, allowed_of):
    v = len(tok)
    only_shan, only_shui = np.zeros((1, v), bool), np.zeros((1, v), bool)
    only_shan[0, tok.index["山"]] = True
    only_shui[0, tok.index["水"]] = True
    a = PositionMask(np.array([[0, 0]], np.int32), only_shan)
    b = PositionMask(np.array([[0, 0]], np.int32), only_shui)
    merged = PositionMask.merge([a.inputs(), b.inputs()])
    assert merged["mask_id"].tolist() == [[0, 0], [1, 1]]  # b's ids moved past a's masks
    out = allowed_of(PositionMask.mask(tf.zeros([2, v]), step(PositionMask, env, t=1, inputs=merged, batch=2)))
    assert [i for i, ok in enumerate(out[0]) if ok] == [tok.index["山"]]
    assert [i for i, ok in enumerate(out[1]) if ok] == [tok.index["水"]]
