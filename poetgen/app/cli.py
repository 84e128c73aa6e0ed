"""`poetgen` command line: a thin layer over the Python API."""

from __future__ import annotations

import argparse
import os
import sys

from ..errors import PoetgenError
from ..model.config import DIRECTIONS, STRATEGIES, ModelConfig, TrainConfig, defaults
from ..native_log import quiet_native_stderr
from ..text.script import SCRIPTS
from ..writing.params import SEARCHES, TONE_LEVELS, WriteParams
from .commands import run_check, run_cipai, run_evaluate, run_export, run_generate, run_prepare, run_train


def _number(kind):
    """argparse type that turns a bad number into a one-line error naming the value."""
    def parse(text: str):
        try:
            return kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a {kind.__name__}: {text!r}") from None
    parse.__name__ = kind.__name__
    return parse


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(prog="poetgen", description="A Keras LSTM that writes Chinese classical poems.")
    parser.add_argument("--version", action="version", version=f"poetgen {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("prepare", help="turn the chinese-poetry dataset into a clean corpus")
    p.add_argument("--source", required=True, help="a copy of the chinese-poetry dataset")
    p.add_argument("--out", default="corpus", help="corpus directory to write (default: corpus)")
    p.set_defaults(func=run_prepare)

    add_train_parser(sub)
    add_generate_parser(sub)

    p = sub.add_parser("check", help="the 格律 report of a poem")
    p.add_argument("text", help="the poem, or - to read it from standard input")
    p.add_argument("--model", help="model directory for --fix (default: the shipped model; a check needs none)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--cipai", help="check as a ci of this 词牌 (default: the tune its shape is, if any)")
    p.add_argument("--fix", action="store_true",
                   help="the fewest changes, at the faulty characters only, that make it 合律 (loads the model)")
    p.set_defaults(func=run_check)

    p = sub.add_parser("cipai", help="the 词牌 poetgen knows, or one tune's pattern")
    p.add_argument("name", nargs="?", help="a 词牌: show its pattern and variant shapes")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run_cipai)

    p = sub.add_parser("serve", help="the web page (same as python app.py)", add_help=False)
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=lambda a: __import__("poetgen.app.serve", fromlist=["main"]).main(a.rest))

    p = sub.add_parser("evaluate", help="perplexity of a model on chinese-poetry JSON poems")
    p.add_argument("--model", help="model directory (default: the shipped model)")
    p.add_argument("--poems", help="a chinese-poetry JSON file or a folder of them")
    p.add_argument("--split", choices=["train", "valid"],
                   help="a split of the corpus instead, reported per collection and form")
    p.add_argument("--corpus", default="corpus", help="the corpus of --split (default: corpus)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run_evaluate)

    p = sub.add_parser("export", help="write a run's best checkpoint as a model directory")
    p.add_argument("--run", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--command", help="training command to record in the model card")
    p.add_argument("--corpus", default="corpus",
                   help="the corpus whose validation split the card reports per collection and form")
    p.add_argument("--float16", action="store_true",
                   help="store the weights in float16 (half the bytes; every figure measured on them)")
    p.add_argument("--average", type=int, default=1,
                   help="export the mean of the weights of the best epoch and the N-1 before it")
    p.set_defaults(func=run_export)
    return parser


def add_train_parser(sub) -> None:
    """`poetgen train`: every model and training option, defaults from poetgen/config.py."""
    p = sub.add_parser("train", help="train a model (resumable) and optionally export it")
    p.add_argument("--corpus", default="corpus")
    p.add_argument("--run", default="default", help="run name under ~/.cache/poetgen/runs, or a path")
    p.add_argument("--resume", action="store_true",
                   help="continue the run as it was configured, even past an early stop (the same "
                        "command continues a run anyway)")
    p.add_argument("--out", help="export the best checkpoint to this model directory at the end")
    p.add_argument("--init", metavar="MODEL_DIR",
                   help="start a new run from this model's weights, vocabulary and model options (those "
                        "given here are not used): to train on a model whose run directory is gone")
    # Defaults from the config dataclasses (poetgen/config.py), so they cannot disagree.
    model_defaults, train_defaults = defaults(ModelConfig), defaults(TrainConfig)
    for name in ("embed_dim", "hidden", "layers", "proj_dim", "dropout"):
        p.add_argument(f"--{name.replace('_', '-')}", type=type(model_defaults[name]), default=model_defaults[name])
    p.add_argument("--direction", choices=DIRECTIONS, default=model_defaults["direction"],
                   help="backward: read each poem from its end (the search's second opinion)")
    helps = {"steps_per_epoch": "0: one pass over the data", "max_minutes": "stop cleanly after this long",
             "checkpoint_every": "steps between checkpoints", "keep_checkpoints": "how many checkpoints to keep",
             "max_len": "longer poems are cut into windows of this many tokens",
             "min_count": "rarer characters become <unk>",
             "lr_halve_from": "halve the learning rate after this epoch (0: only on a plateau)",
             "lr_halve_every": "and every this many epochs after it (may change between sessions)",
             "keep_epochs": "keep the weights of this many last epochs (for export --average)"}
    for name, value in train_defaults.items():
        flag = "--lr" if name == "learning_rate" else f"--{name.replace('_', '-')}"
        p.add_argument(flag, dest=name, type=type(value), default=value, help=helps.get(name))
    p.add_argument("--strategy", default="default", choices=STRATEGIES,
                   help="tf.distribute strategy: one device, all local devices, or workers from TF_CONFIG")
    p.add_argument("--cpu-devices", type=int, default=0,
                   help="split the CPU into this many logical devices (to try --strategy mirrored)")
    p.add_argument("--verbose", type=int, default=None, choices=[0, 1, 2],
                   help="0 silent, 1 progress bar, 2 one line per epoch (default: 1 on a terminal)")
    p.add_argument("--limit-poems", type=int, default=0, help=argparse.SUPPRESS)
    p.set_defaults(func=run_train)


def add_generate_parser(sub) -> None:
    """`poetgen generate`: the options of WriteParams (defaults from there), and how many poems."""
    w = defaults(WriteParams)
    p = sub.add_parser("generate", help="write poems")
    p.add_argument("--model", help="model directory (default: the shipped model)")
    p.add_argument("--start", default=w["start"], help="opening text to continue (简 or 繁)")
    p.add_argument("--form", default=w["form"],
                   help="五绝, 七绝, 五律, 七律, or free (default: a regulated form the start text fits)")
    p.add_argument("--style", default=w["style"], help="唐 (default) or 宋: the manner of the Tang or the Song poets")
    p.add_argument("--acrostic", default=w["acrostic"], help="藏头: characters that open the lines, one per line")
    p.add_argument("--tail", default=w["tail"], help="藏尾: characters that end the lines")
    p.add_argument("--theme", default=w["theme"], help="free text; its jieba keywords shape the poem")
    p.add_argument("--rhyme", default=w["rhyme"], help="平水韵 group, e.g. 東 or 阳 (default: the model chooses)")
    p.add_argument("--tones", choices=TONE_LEVELS, default=w["tones"],
                   help="default: strict for a regulated form, off for free")
    p.add_argument("--pattern", default=w["pattern"], help="e.g. 仄起首句不入韵 (default: chosen per poem)")
    p.add_argument("--cipai", default=w["cipai"], help="write a ci of this 词牌, e.g. 浣溪沙 (see `poetgen cipai`)")
    p.add_argument("--temperature", type=_number(float), default=w["temperature"], help="0 = greedy")
    p.add_argument("--top-k", type=_number(int), default=w["top_k"], help="0 = off")
    p.add_argument("--top-p", type=_number(float), default=w["top_p"], help="1 = off")
    p.add_argument("--max-repeat", type=_number(int), default=w["max_repeat"],
                   help="times a character may recur (0 = off)")
    p.add_argument("--max-tokens", type=_number(int), default=w["max_tokens"], help="length cap of free verse")
    p.add_argument("--allow-copy", action="store_true", help="allow lines found verbatim in the corpus")
    p.add_argument("--rhyme-any-reading", dest="rhyme_as_read", action="store_false", default=w["rhyme_as_read"],
                   help="let a 多音字 rhyme in any group the 平水韵 table lists it in, not only as the poets rhymed "
                        "it after the character before it (送君行 in 庚, 雁行 in 陽)")
    p.add_argument("--rerank", action="store_true", help="sample 3n, keep the n most likely")
    p.add_argument("-n", type=_number(int), default=1, help="number of poems")
    p.add_argument("--seed", type=_number(int), default=None)
    p.add_argument("--search", choices=SEARCHES, default=w["search"],
                   help="best: the best of several whole candidates by the models' score (default); "
                        "lines: a small beam, line by line; off: one sample")
    p.add_argument("--polish", action="store_true", default=w["polish"],
                   help="after writing, revisit the weakest characters; shows the draft and the changes")
    p.add_argument("--script", choices=SCRIPTS, default=w["script"],
                   help=f"of the poems shown (default: {w['script']})")
    p.add_argument("--id", default=None, help="rebuild the poem with this id")
    p.add_argument("--json", action="store_true", help="print a JSON list of poems")
    p.set_defaults(func=run_generate)


def model_dir_present(model: str | None) -> None:
    """The model directory a command loads (--model, else the default) is there: a missing one
    is named at once, not after the seconds of loading TensorFlow."""
    from pathlib import Path

    from ..defaults import default_model_dir
    from ..errors import ModelError

    directory = Path(model) if model else default_model_dir()
    if not directory.is_dir():
        raise ModelError(f"model directory not found: {directory}")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        if args.command not in ("prepare", "check", "cipai") or getattr(args, "fix", False):  # these need TensorFlow
            if hasattr(args, "model"):  # generate, evaluate, check --fix
                model_dir_present(args.model)
            with quiet_native_stderr():
                import tensorflow  # noqa: F401
        args.func(args)
    except PoetgenError as e:
        print(f"poetgen: error: {e}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # the reader went away (`poetgen check … | head`): nothing more to say
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("poetgen: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
