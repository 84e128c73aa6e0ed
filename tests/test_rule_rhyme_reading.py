import numpy as np
import tensorflow as tf

from poetgen.writing.rules import Env, ReadTables, RhymeReading


def reading_env(tok, members):
    """山 and 水 read in group 0; 月, in both groups by the table, read in group 0 alone, but in
    group 1 after 山 (a pair that tells otherwise)."""
    as_read = members.copy()
    as_read[tok.index["月"], 1] = False
    pairs = (np.array([tok.index["山"]], np.int32), np.array([tok.index["月"]], np.int32), np.array([[False, True]]))
    return Env(tok, len(tok), members, None, read_tables=ReadTables(as_read, *pairs))


def test_a_rhyme_is_allowed_only_in_a_group_it_is_read_in(tok, env, step, allowed_of):
    yue, shan, shui = (tok.index[c] for c in "月山水")
    env = reading_env(tok, env.group_members)
    # Only group 1 open: 月 is in it by the table, but read there only after 山.
    rule = RhymeReading(rhyme_at=np.array([[True], [True]]), groups=np.array([[False, True], [False, True]]))
    s = step(RhymeReading, env, prev=[shui, shan], inputs=rule.inputs(), state=rule.init_state(2), batch=2)
    out = allowed_of(RhymeReading.mask(tf.zeros([2, len(tok)]), s))
    assert not out[0][yue] and out[1][yue]
    assert not out[1][shan]  # 山 is read in group 0 only


def test_it_waits_off_rhyme_positions_and_narrows_by_the_reading(tok, env, step, allowed_of):
    yue, shan, shui = (tok.index[c] for c in "月山水")
    env = reading_env(tok, env.group_members)
    rule = RhymeReading(rhyme_at=np.array([[False, True]]), groups=np.array([[True, True]]))
    off = step(RhymeReading, env, t=0, prev=[shui], inputs=rule.inputs(), state=rule.init_state(1))
    assert all(allowed_of(RhymeReading.mask(tf.zeros([1, len(tok)]), off))[0])
    assert RhymeReading.update(tf.constant([yue]), off)["groups"].numpy().tolist() == [[True, True]]
    for prev, groups in ((shui, [True, False]), (shan, [False, True])):  # 水月: group 0; 山月: group 1
        s = step(RhymeReading, env, t=1, prev=[prev], inputs=rule.inputs(), state=rule.init_state(1))
        assert RhymeReading.update(tf.constant([yue]), s)["groups"].numpy().tolist() == [groups]
        # the host-side narrowing (a rewrite's state) agrees with the loop's
        assert RhymeReading.narrow(rule.groups, rule.rhyme_at[0], np.array([prev, yue]), env).tolist() == [groups]


def test_a_forced_character_read_in_no_open_group_narrows_by_the_table(tok, env, step):
    """A user's 藏尾 may put a character where it is read in none of the open groups: the rule
    then narrows as Rhyme does instead of leaving the poem with nothing allowed."""
    yue, shui = tok.index["月"], tok.index["水"]
    env = reading_env(tok, env.group_members)
    rule = RhymeReading(rhyme_at=np.array([[True]]), groups=np.array([[False, True]]))
    s = step(RhymeReading, env, prev=[shui], inputs=rule.inputs(), state=rule.init_state(1))
    assert RhymeReading.update(tf.constant([yue]), s)["groups"].numpy().tolist() == [[False, True]]
    assert RhymeReading.narrow(rule.groups, rule.rhyme_at[0], np.array([yue]), env).tolist() == [[False, True]]


def test_the_places_a_finished_poem_allows_at_a_rhyme_follow_the_reading_too():
    """换字 and polishing ask Allowed: with rhyme_as_read, a rhyme after 送君 in a 陽 poem may not
    be 行 (read xíng, 庚) though the table's 陽 has it; without, it may (the ids made before)."""
    from types import SimpleNamespace

    from poetgen.model.tokenizer import Tokenizer
    from poetgen.text.script import Script
    from poetgen.verse.pingshui import rhyme_table
    from poetgen.writing.allowed import Allowed
    from poetgen.writing.vocabulary import Vocabulary

    lines = ["江上秋風落夕陽", "長亭揮手送君行", "一杯濁酒無人識", "明月孤舟過楚鄉"]
    tok = Tokenizer.build(["".join(lines) + "王方塘"], min_count=1)
    table = rhyme_table()
    allowed = Allowed(Vocabulary(tok, table), table, Script(tok.index))
    report = {"pattern": "平起首句入韵", "rhyme_lines": [0, 1, 3], "rhyme_chars": [lines[i][-1] for i in (0, 1, 3)]}
    poem = SimpleNamespace(form="七绝", lines=lines, report=report)
    plain, as_read = allowed(poem, "strict", 1, 6), allowed(poem, "strict", 1, 6, as_read=True)
    assert plain[tok.index["行"]] and not as_read[tok.index["行"]]
    assert as_read[tok.index["王"]] and as_read[tok.index["方"]] and not as_read[tok.index["江"]]


def allowed_for(text_lines, extra=""):
    from poetgen.model.tokenizer import Tokenizer
    from poetgen.text.script import Script
    from poetgen.verse.pingshui import rhyme_table
    from poetgen.writing.allowed import Allowed
    from poetgen.writing.vocabulary import Vocabulary

    tok = Tokenizer.build(["".join(text_lines) + extra], min_count=1)
    table = rhyme_table()
    return tok, Allowed(Vocabulary(tok, table), table, Script(tok.index))


def test_the_other_rhymes_are_read_as_written_not_as_shown():
    """A poem is shown simplified; its rhymes are the model's characters. 谿 (齊) shows as 溪, which
    read back is 溪 of no 平 group: taken from the shown text, no character would rhyme with it
    (an old id's 换字 found no candidate)."""
    from types import SimpleNamespace

    written = ["雨過前村綠滿蹊", "白雲深處水東西", "誰家小院春無主", "一夜梅花落滿谿"]
    tok, allowed = allowed_for(written, "題啼齊")
    report = {"pattern": "仄起首句入韵", "rhyme_lines": [0, 1, 3], "rhyme_chars": [written[i][-1] for i in (0, 1, 3)]}
    shown = ["雨过前村绿满蹊", "白云深处水东西", "谁家小院春无主", "一夜梅花落满溪"]
    poem = SimpleNamespace(form="七绝", lines=shown, report=report)
    for as_read in (False, True):
        here = allowed(poem, "strict", 1, 6, as_read)
        assert here[tok.index["題"]] and here[tok.index["齊"]] and not here[tok.index["春"]]


def test_polishing_keeps_the_rhyme_read_as_it_was():
    """Just before a rhyme, polishing may put only a character after which the rhyme is still read
    in the poem's group: in a 陽 poem, 成行 reads 陽 but 人行 and 君行 庚."""
    from types import SimpleNamespace

    lines = ["江上秋風落夕陽", "天邊歸雁已成行", "一杯濁酒無人識", "明月孤舟過楚鄉"]
    tok, allowed = allowed_for(lines, "人君")
    report = {"pattern": "平起首句入韵", "rhyme_lines": [0, 1, 3], "rhyme_chars": [lines[i][-1] for i in (0, 1, 3)]}
    poem = SimpleNamespace(form="七绝", lines=lines, report=report)
    keeps = allowed.keeps_reading(poem, 1, 5)
    assert keeps[tok.index["成"]] and not keeps[tok.index["人"]] and not keeps[tok.index["君"]]
    assert keeps[tok.index["雁"]]  # no pair of its own: 行 as the character reads, 陽 among its groups
    assert allowed.keeps_reading(poem, 1, 4).all() and allowed.keeps_reading(poem, 2, 5).all()
