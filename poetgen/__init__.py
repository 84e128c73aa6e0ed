"""poetgen: a Keras LSTM that writes Chinese classical poems."""

import os

# Before TensorFlow loads (any poetgen module that needs it imports it after this): oneDNN's
# kernels train 20-50% faster on this kind of CPU, and decode faster too (its fused softmax
# and matmuls; benchmarks/README.md). A value the user set is kept.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

__version__ = "0.1.0"
__all__ = ["Poet", "Poem", "WriteParams"]


def __getattr__(name: str):
    # Lazy, so `poetgen prepare` and the corpus code do not pay for importing TensorFlow.
    if name in __all__:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'poetgen' has no attribute {name!r}")
