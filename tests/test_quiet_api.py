"""The Python API keeps TensorFlow's C++ start-up lines off standard error, as the command line
and the page do, unless the user asks for them with TF_CPP_MIN_LOG_LEVEL (issue #23)."""

import os
import subprocess
import sys

import pytest
from conftest import REPO, finish

# Some lines come while TensorFlow is imported (oneDNN, the CUDA driver probe), others only on
# first use (cuInit when the model loads, oneDNN's DT_INT32 note on the first compiled loop):
# the snippet goes as far as one poem.
SNIPPET = "from poetgen import Poet; poet = Poet.load(); poet.write(form='七绝', seed=1)"
IMPORT = "from poetgen import Poet"  # its first step: TensorFlow imported


def start_snippet(code: str = SNIPPET, **env: str) -> subprocess.Popen:
    # A user's environment: none of the settings the suite's conftest makes, the shipped model.
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("TF_", "POETGEN_")) and k != "CUDA_VISIBLE_DEVICES"}
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=REPO, env={**clean, **env})


@pytest.fixture(scope="module")
def runs():
    """The snippet as the user runs it, and its import with TF_CPP_MIN_LOG_LEVEL=0, both started at
    once (each process spends its time importing TensorFlow); each test waits for its own."""
    started = {"quiet": start_snippet(), "asked": start_snippet(IMPORT, TF_CPP_MIN_LOG_LEVEL="0")}
    yield lambda name: finish(started[name], 600)
    for proc in started.values():  # a test that failed early leaves its process behind
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_loading_and_writing_print_nothing_on_stderr(runs):
    done = runs("quiet")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stderr == ""


def test_tensorflow_speaks_when_the_user_asks(runs):
    """With TF_CPP_MIN_LOG_LEVEL=0 the snippet's import alone shows TensorFlow's lines, so the
    test above can fail: it is not empty only because TensorFlow had nothing to say."""
    done = runs("asked")
    assert done.returncode == 0, done.stderr[-2000:]
    # poetgen switches oneDNN on, and TensorFlow says so while it is imported (the CUDA lines
    # depend on the machine).
    assert "oneDNN custom operations are on" in done.stderr
