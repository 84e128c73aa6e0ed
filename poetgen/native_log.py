"""TensorFlow's C++ start-up chatter (absl's notice, CUDA probes on a CPU machine, oneDNN
notes) bypasses Python's logging; it is hidden while TensorFlow loads unless the user asks for
it with TF_CPP_MIN_LOG_LEVEL=0."""

from __future__ import annotations

import contextlib
import os


@contextlib.contextmanager
def quiet_native_stderr():
    """Standard error of the process (file descriptor 2) sent to /dev/null for the block."""
    if os.environ.get("TF_CPP_MIN_LOG_LEVEL") == "0":
        yield
        return
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
