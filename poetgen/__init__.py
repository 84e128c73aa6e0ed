"""poetgen: a Keras LSTM that writes Chinese classical poems."""

__version__ = "0.1.0"
__all__ = ["Poet", "Poem"]


def __getattr__(name: str):
    # Lazy, so `poetgen prepare` and the corpus code do not pay for importing TensorFlow.
    if name in __all__:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'poetgen' has no attribute {name!r}")
