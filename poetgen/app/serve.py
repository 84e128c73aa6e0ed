"""`python app.py` (and `poetgen serve`): the page's command line. The address comes from its
flags, then poetgen's variable, then Gradio's own; a model directory that is not one is named
before Gradio and TensorFlow load (seconds), and the page then starts while its model loads."""

from __future__ import annotations

import argparse
import os


def main(argv: list[str] | None = None) -> None:
    from ..defaults import model_directory
    from ..errors import PoetgenError

    parser = argparse.ArgumentParser(prog="poetgen serve", description="the poetgen web page")
    parser.add_argument("--model", help="model directory (default: the shipped model)")
    # Flags first, then poetgen's variable, then Gradio's own (GRADIO_SERVER_PORT/NAME).
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME") or "127.0.0.1")
    parser.add_argument("--port", type=int, default=None)
    args = parser.parse_args(argv)
    if args.port is None:
        port = os.environ.get("POETGEN_PORT") or os.environ.get("GRADIO_SERVER_PORT") or "7860"
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise SystemExit(f"poetgen: error: the port must be a number from 1 to 65535, got {port!r}")
        args.port = int(port)
    try:
        model_directory(args.model)
        from .handlers import LoadingPoet
        from .page import launch

        poet = LoadingPoet(args.model)
    except PoetgenError as e:
        raise SystemExit(f"poetgen: error: {e}") from None
    launch(poet, args.host, args.port)
