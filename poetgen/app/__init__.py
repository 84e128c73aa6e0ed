"""The application layer: the command line (cli.py) and the web page (page.py over handlers.py
and render.py), thin over the Python API.

Set before Gradio or TensorFlow is imported by any module of this package: no analytics, and
TensorFlow's start-up lines (CUDA probes, oneDNN notices), which mean nothing to a reader of a
terminal or of the page's log (TF_CPP_MIN_LOG_LEVEL=0 brings them back)."""

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
