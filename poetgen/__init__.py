"""poetgen: a Keras LSTM that writes Chinese classical poems."""

__version__ = "0.1.0"
