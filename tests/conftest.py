import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

REPO = Path(__file__).resolve().parent.parent
SHIPPED_CORPUS = REPO / "corpus"

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


@pytest.fixture(scope="session")
def fixture_dataset(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("chinese-poetry")
    (root / "quantangshi").mkdir()
    (root / "quantangshi" / "poet.tang.0.json").write_text(
        json.dumps(FIXTURE_POEMS, ensure_ascii=False), encoding="utf-8")
    return root


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory) -> Path:
    """A few hundred poems of the shipped corpus: enough for a tiny model to learn something."""
    out = tmp_path_factory.mktemp("tiny_corpus")
    for split, count in (("train", 400), ("valid", 40)):
        lines = (SHIPPED_CORPUS / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()[:count]
        (out / f"{split}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


TINY_MODEL = {"embed_dim": 16, "hidden": 32, "proj_dim": 16, "dropout": 0.0}


@pytest.fixture(scope="session")
def tiny_run(tiny_corpus, tmp_path_factory):
    from poetgen.train import TrainConfig, train

    run = tmp_path_factory.mktemp("runs") / "tiny"
    state = train(tiny_corpus, run, TINY_MODEL,
                  TrainConfig(epochs=3, batch_size=16, steps_per_epoch=15, learning_rate=1e-2, min_count=2),
                  verbose=0)
    return run, state


@pytest.fixture(scope="session")
def tiny_model_dir(tiny_run, tmp_path_factory) -> Path:
    from poetgen.train import export

    out = tmp_path_factory.mktemp("models") / "tiny"
    export(tiny_run[0], out, command="poetgen train (test)")
    return out


@pytest.fixture(scope="session")
def tiny_poet(tiny_model_dir):
    from poetgen.api import Poet

    return Poet.load(tiny_model_dir)


def run_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run([sys.executable, "-m", "poetgen.cli", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO, env=env)


@pytest.fixture(scope="session")
def server(tiny_poet, tmp_path_factory):
    """The page on a live Gradio server (loopback, a free port), over the tiny model."""
    os.environ["GRADIO_TEMP_DIR"] = str(tmp_path_factory.mktemp("gradio"))
    from poetgen.web import launch

    app = launch(tiny_poet, "127.0.0.1", None, prevent_thread_lock=True, quiet=True)
    yield app.local_url.rstrip("/")
    app.close()
