"""The Python API keeps TensorFlow's C++ start-up lines off standard error, as the command line
and the page do, unless the user asks for them with TF_CPP_MIN_LOG_LEVEL (issue #23)."""

import os
import subprocess
import sys

from conftest import REPO

# Some lines come while TensorFlow is imported (oneDNN, the CUDA driver probe), others only on
# first use (cuInit when the model loads, oneDNN's DT_INT32 note on the first compiled loop):
# the snippet goes as far as one poem.
SNIPPET = "from poetgen import Poet; poet = Poet.load(); poet.write(form='七绝', seed=1)"


def run_snippet(**env: str) -> subprocess.CompletedProcess:
    # A user's environment: none of the settings the suite's conftest makes, the shipped model.
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("TF_", "POETGEN_")) and k != "CUDA_VISIBLE_DEVICES"}
    return subprocess.run([sys.executable, "-c", SNIPPET], capture_output=True, text=True, timeout=600,
                          cwd=REPO, env={**clean, **env})


def test_loading_and_writing_print_nothing_on_stderr():
    done = run_snippet()
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stderr == ""


def test_tensorflow_speaks_when_the_user_asks():
    """The same run with TF_CPP_MIN_LOG_LEVEL=0 shows TensorFlow's lines, so the test above can
    fail: it is not empty only because TensorFlow had nothing to say."""
    done = run_snippet(TF_CPP_MIN_LOG_LEVEL="0")
    assert done.returncode == 0, done.stderr[-2000:]
    # poetgen switches oneDNN on, and TensorFlow says so while it is imported (the CUDA lines
    # depend on the machine).
    assert "oneDNN custom operations are on" in done.stderr
