import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

REPO = Path(__file__).resolve().parent.parent
SHIPPED_CORPUS = REPO / "corpus"

# The suite runs in three worker processes (pytest-xdist, `addopts` in pyproject.toml), one group of
# modules each. "processes": modules whose work is in processes of their own (training runs killed
# and resumed, the installed copy, the API's stderr, the command line's own processes), on the
# shipped model, or on models and tables they make themselves: they need neither the tiny model's
# Poet, nor the page's server, nor the browser that "in_process" shares. "training": the training
# loop's own tests, in this process, on the tiny corpus. Each worker builds what its own modules use,
# once (the tiny model directory, where a group needs it: seconds). Three workers on two cores,
# because each worker waits much of its time (on its subprocesses, the browser, the server's
# threads): measured on 2 cores, the same suite took 4:07 in three workers, 5:11 in two, 4:41 in four.
OWN_WORKER = {"test_distributed.py", "test_install.py", "test_quiet_api.py", "test_shipped.py", "test_cli.py",
              "test_lstm.py", "test_model.py", "test_corpus.py", "test_cipu.py", "test_cilin.py", "test_prosody.py",
              "test_ids.py", "test_tokenizer.py", "test_readers_benchmark.py"}
OWN_WORKER |= {path.name for path in Path(__file__).parent.glob("test_rule_*.py")}  # the rules' tiny tables
TRAINING_WORKER = {"test_train.py"}


def worker_group(module: str) -> str:
    return "processes" if module in OWN_WORKER else "training" if module in TRAINING_WORKER else "in_process"


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups
def pytest_collection_modifyitems(config, items):
    for item in items:
        item.add_marker(pytest.mark.xdist_group(worker_group(item.path.name)))

# A dataset in chinese-poetry's own layout, with each kind of mess the corpus step cleans.
FIXTURE_POEMS = [
    # 五绝, clean
    {"id": "a1", "title": "靜夜思", "author": "李白",
     "paragraphs": ["床前明月光，疑是地上霜。", "舉頭望明月，低頭思故鄉。"]},
    # 七绝 with a variant note and a restored character
    {"id": "a2", "title": "早發白帝城", "author": "李白",
     "paragraphs": ["朝辭白帝彩雲間（一作「開」），千里江陵一日[還]。", "兩岸猿聲啼不住，輕舟已過萬重山。"]},
    # 五律 with ？ and ！ that become regular punctuation
    {"id": "a3", "title": "春望", "author": "杜甫",
     "paragraphs": ["國破山河在，城春草木深。", "感時花濺淚，恨別鳥驚心。", "烽火連三月，家書抵萬金。",
                    "白頭搔更短，渾欲不勝簪？"]},
    # 七律
    {"id": "a4", "title": "登高", "author": "杜甫",
     "paragraphs": ["風急天高猿嘯哀，渚清沙白鳥飛迴。", "無邊落木蕭蕭下，不盡長江滾滾來。",
                    "萬里悲秋常作客，百年多病獨登臺。", "艱難苦恨繁霜鬢，潦倒新停濁酒杯。"]},
    # other: 3 lines, with a nested editorial note
    {"id": "a5", "title": "雜詩", "author": "佚名",
     "paragraphs": ["山中何所有，嶺上多白雲。（〖1〗見《某書》（卷三））", "只可自怡悅。"]},
    # duplicate text of a1 under another title
    {"id": "a6", "title": "夜思", "author": "李白",
     "paragraphs": ["床前明月光，疑是地上霜。", "舉頭望明月，低頭思故鄉。"]},
    # placeholder for a missing character: dropped
    {"id": "a7", "title": "殘句", "author": "佚名", "paragraphs": ["冰□已鏤津，花餘凝地雪。"]},
    # empty after cleaning
    {"id": "a8", "title": "無題", "author": "佚名", "paragraphs": ["（詩佚）"]},
]


# Song poems: one repeats a Tang text (it stays Tang), one has a composed-character placeholder,
# one a note in 〔〕; one has both 髮 and 發 (so a ci's 发 is an ambiguous conversion).
FIXTURE_SONG = [
    {"id": "s1", "title": "日詩", "author": "宋太祖",
     "paragraphs": ["欲出未出光辣達，千山萬山如火發。", "須臾走向天上來，逐却殘星趕却月。"]},
    {"id": "s2", "title": "靜夜思", "author": "無名氏",
     "paragraphs": ["床前明月光，疑是地上霜。", "舉頭望明月，低頭思故鄉。"]},
    {"id": "s3", "title": "殘篇", "author": "無名氏", "paragraphs": ["妖韶援綠{𥫗/戢}，花餘凝地雪。"]},
    {"id": "s4", "title": "題壁", "author": "無名氏",
     "paragraphs": ["江南江北雪漫漫〔一本作天〕，遥知易水寒。", "此時誰共醉，獨坐望長安。"]},
    {"id": "s5", "title": "春歸", "author": "無名氏",
     "paragraphs": ["白髮悲花落，青雲羨鳥飛。", "春風發何處，一夜月明歸。"]},
]
# Song ci, in simplified characters as the dataset has them.
FIXTURE_CI = [
    {"author": "晏殊", "rhythmic": "浣溪沙",
     "paragraphs": ["一曲新词酒一杯。去年天气旧亭台。夕阳西下几时回。",
                    "无可奈何花落去，似曾相识燕归来。小园香径独徘徊。"]},
    {"author": "无名氏", "rhythmic": "失调名", "paragraphs": ["头发白，后来人。"]},
    {"author": "无名氏", "rhythmic": "浣溪沙", "paragraphs": ["□□□□。"]},
]


def write_dataset(root: Path, tang=FIXTURE_POEMS, song=FIXTURE_SONG, ci=FIXTURE_CI) -> Path:
    for folder, name, items in (("quantangshi", "poet.tang.0.json", tang), ("quansongshi", "poet.song.0.json", song),
                                ("songci", "ci.song.0.json", ci)):
        if items:
            (root / folder).mkdir(parents=True, exist_ok=True)
            (root / folder / name).write_text(json.dumps(items, ensure_ascii=False), encoding="utf-8")
    return root


@pytest.fixture(scope="session")
def fixture_dataset(tmp_path_factory) -> Path:
    """Tang verse only, in the dataset's layout."""
    return write_dataset(tmp_path_factory.mktemp("chinese-poetry"), song=(), ci=())


@pytest.fixture(scope="session")
def fixture_dataset_all(tmp_path_factory) -> Path:
    """All three collections, in the dataset's layout."""
    return write_dataset(tmp_path_factory.mktemp("chinese-poetry-all"))


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory) -> Path:
    """A few hundred poems of the shipped corpus: enough for a tiny model to learn something."""
    from poetgen.corpus.splits import read_split_text

    out = tmp_path_factory.mktemp("tiny_corpus")
    for split, count in (("train", 400), ("valid", 40)):
        lines = read_split_text(SHIPPED_CORPUS, split).splitlines()
        # Mostly Tang verse, and the first Song poems and ci: every collection is represented.
        picked = lines[: count * 3 // 4]
        for collection in ("宋诗", "宋词"):
            picked += [line for line in lines if f'"collection": "{collection}"' in line][: count // 8]
        (out / f"{split}.jsonl").write_text("\n".join(picked) + "\n", encoding="utf-8")
    return out


TINY_MODEL = {"embed_dim": 16, "hidden": 32, "proj_dim": 16, "dropout": 0.0}


@pytest.fixture(scope="session")
def tiny_run(tiny_corpus, tmp_path_factory):
    from poetgen.training.loop import TrainConfig, train

    run = tmp_path_factory.mktemp("runs") / "tiny"
    state = train(tiny_corpus, run, TINY_MODEL,
                  TrainConfig(epochs=3, batch_size=16, steps_per_epoch=15, learning_rate=1e-2, min_count=2),
                  verbose=0)
    return run, state


@pytest.fixture(scope="session")
def tiny_model_dir(tiny_run, tmp_path_factory) -> Path:
    from poetgen.training.export import export

    out = tmp_path_factory.mktemp("models") / "tiny"
    export(tiny_run[0], out, command="poetgen train (test)")
    return out


@pytest.fixture(scope="session", autouse=True)
def corpus_lines_once():
    """Each Poet.load reads the corpus the no-copy rule guards (the shipped one: 20 million
    characters, gzipped) and hashes its lines for its vocabulary: seconds, at each of the suite's
    many loads (the command line's, the page's, the tests' own). Within the session the same files
    are read and the same vocabulary's lines hashed once, by poetgen's own code; a corpus changed
    on disk (another size or time) or another vocabulary is read and hashed anew."""
    import poetgen.api as api
    from poetgen.corpus.splits import split_path

    texts_of, lines_of = {}, {}
    read, hash_lines = api.Poet._corpus_texts, api.corpus_lines

    def corpus_texts(poet):
        files = [split_path(poet.corpus_dir, split) for split in ("train", "valid")] if poet.corpus_dir else []
        key = tuple((str(f.resolve()), f.stat().st_size, f.stat().st_mtime_ns) for f in files if f)
        if not key:
            return read(poet)
        if key not in texts_of:
            texts_of[key] = read(poet)
        return texts_of[key]

    def corpus_lines(texts, tokenizer):
        if not any(texts is kept for kept in texts_of.values()):  # not one of the texts read here
            return hash_lines(texts, tokenizer)
        key = (id(texts), tuple(tokenizer.tokens))
        if key not in lines_of:
            lines_of[key] = hash_lines(texts, tokenizer)
            if lines_of[key] is not None:
                lines_of[key].flags.writeable = False  # shared by the Poets: none may change it
        return lines_of[key]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(api.Poet, "_corpus_texts", corpus_texts)
        patch.setattr(api, "corpus_lines", corpus_lines)
        yield


@pytest.fixture(scope="session")
def tiny_poet(tiny_model_dir):
    from poetgen.api import Poet

    return Poet.load(tiny_model_dir)


def run_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """`python -m poetgen ARGS` in a process of its own, as a user runs it. Each pays for its own
    TensorFlow import (seconds): kept for what only a real process shows (the entry point, its
    exit status, what reaches the terminal); `cli` runs the same command in this process."""
    return finish(start_cli(*args), timeout)


def start_cli(*args: str, env: dict | None = None) -> subprocess.Popen:
    """run_cli's process, started: several run at once while each imports TensorFlow (finish)."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
    return subprocess.Popen([sys.executable, "-m", "poetgen", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=REPO, env=env)


def finish(proc: subprocess.Popen, timeout: float = 300) -> subprocess.CompletedProcess:
    """A started process waited for: its exit status and output (killed past the timeout)."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except BaseException:
        proc.kill()
        proc.communicate()
        raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def cli(*args: str, stdin: str | None = None, stderr=None) -> subprocess.CompletedProcess:
    """`poetgen ARGS` run in this process by the command line's own main(argv), from the
    repository root as run_cli runs it: its exit status (main's return value, or argparse's exit)
    and what it printed on standard output and error. An exception main lets through fails the
    test, as a traceback would fail it in a process of its own. `stderr`: a text file to print
    standard error to instead (a terminal), whose output is then not returned."""
    import contextlib
    import io

    from poetgen.app.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.ExitStack() as stack:
        stack.callback(os.chdir, os.getcwd())  # (contextlib.chdir is Python 3.11's)
        os.chdir(REPO)
        stack.enter_context(contextlib.redirect_stdout(out))
        stack.enter_context(contextlib.redirect_stderr(err if stderr is None else stderr))
        if stdin is not None:
            saved, sys.stdin = sys.stdin, io.StringIO(stdin)
            stack.callback(setattr, sys, "stdin", saved)
        try:
            code = main(list(args))
        except SystemExit as e:  # argparse: --help, --version, a bad option
            code = e.code if isinstance(e.code, int) else int(e.code is not None)
    return subprocess.CompletedProcess(["poetgen", *args], code, out.getvalue(), err.getvalue())


@pytest.fixture(scope="session")
def page_app(tiny_poet, tmp_path_factory):
    """The page on a live Gradio server (loopback, a free port), over the tiny model: its Blocks."""
    os.environ["GRADIO_TEMP_DIR"] = str(tmp_path_factory.mktemp("gradio"))
    from poetgen.app.page import launch

    app = launch(tiny_poet, "127.0.0.1", None, prevent_thread_lock=True, quiet=True)
    yield app
    app.close()


@pytest.fixture(scope="session")
def server(page_app) -> str:
    """The live page's address."""
    return page_app.local_url.rstrip("/")


# ----------------------------------------------------------------------------- rule tests
# A tiny vocabulary for the tests of poetgen/rules: specials, the two marks, then 山 水 月 風.


@pytest.fixture(scope="session")
def tok():
    from poetgen.model.tokenizer import Tokenizer

    return Tokenizer.build(["山山山山水水水月月風"], min_count=1)


@pytest.fixture(scope="session")
def env(tok):
    from poetgen.writing.rules import Env

    # 山 and 水 rhyme in group 0, 月 in groups 0 and 1, 風 in none
    members = np.zeros((len(tok), 2), bool)
    members[[tok.index["山"], tok.index["水"], tok.index["月"]], 0] = True
    members[tok.index["月"], 1] = True
    return Env(tok, len(tok), members, None)


def make_step(rule, env, t=0, prev=None, counts=None, inputs=None, state=None, batch=1):
    import tensorflow as tf

    from poetgen.writing.rules import Step

    inputs = {k: tf.constant(v) for k, v in (inputs or {}).items()}
    state = {k: tf.constant(v) for k, v in (state or {}).items()}
    return Step(tf.constant(t), tf.constant(prev if prev is not None else [0] * batch, tf.int32),
                None if counts is None else tf.constant(counts, tf.int32), rule.tables(env), inputs, state)


def allowed(logits) -> list[list[bool]]:
    import numpy as np

    from poetgen.writing.rules import NEG_INF

    return (np.asarray(logits) > NEG_INF / 2).tolist()


@pytest.fixture
def step():
    return make_step


@pytest.fixture
def allowed_of():
    return allowed
