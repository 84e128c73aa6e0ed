"""`poetgen` command line: a thin layer over the Python API."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from ..errors import PoetgenError
from ..model.config import DIRECTIONS, ModelConfig, TrainConfig, defaults
from ..native_log import quiet_native_stderr
from ..writing.params import WriteParams

DEFAULT_RUNS = Path.home() / ".cache" / "poetgen" / "runs"


def _prepare(args: argparse.Namespace) -> None:
    from ..corpus.prepare import prepare

    stats = prepare(args.source, args.out)
    print(json.dumps(stats, ensure_ascii=False, indent=2))


def _train(args: argparse.Namespace) -> None:
    from ..training.distribute import make_strategy
    from ..training.export import export
    from ..training.loop import train

    # First: a multi-worker strategy must be set up before TensorFlow runs anything.
    strategy = make_strategy(args.strategy, args.cpu_devices)
    cfg = TrainConfig(**{name: getattr(args, name) for name in defaults(TrainConfig)})
    model_cfg = dict(embed_dim=args.embed_dim, hidden=args.hidden, layers=args.layers,
                     proj_dim=args.proj_dim, dropout=args.dropout, direction=args.direction)
    run = Path(args.run) if "/" in args.run else DEFAULT_RUNS / args.run
    if args.verbose != 0:
        print(f"run directory: {run}", flush=True)
    state = train(args.corpus, run, model_cfg, cfg, resume=args.resume, limit_poems=args.limit_poems,
                  strategy=strategy, verbose=args.verbose)
    if args.verbose != 0:
        print(f"finished at epoch {state.epoch}, step {state.steps}"
              + (f" ({state.stopped})" if state.stopped else "")
              + f"; weights sha256 {state.weights_sha256}", flush=True)
    if args.out:
        metrics = export(run, args.out, corpus_dir=args.corpus)
        print(f"model written to {args.out}: validation character perplexity "
              f"{metrics['val_char_perplexity']:.1f}")


def _export(args: argparse.Namespace) -> None:
    from ..training.export import export

    run = Path(args.run) if "/" in args.run else DEFAULT_RUNS / args.run
    metrics = export(run, args.out, command=args.command, corpus_dir=args.corpus, half=args.float16,
                     average=args.average)
    print(f"model written to {args.out}: validation character perplexity "
          f"{metrics['val_char_perplexity']:.1f}")


def _generate(args: argparse.Namespace) -> None:
    from ..api import Poet

    poet = Poet.load(args.model)
    if args.id:
        poems = [poet.regenerate(args.id)]
    else:
        params = dict(start=args.start, form=args.form, temperature=args.temperature,
                      top_k=args.top_k, top_p=args.top_p, n=args.n, seed=args.seed,
                      script=args.script, acrostic=args.acrostic, tail=args.tail, theme=args.theme,
                      rhyme=args.rhyme, tones=args.tones, pattern=args.pattern,
                      no_copy=not args.allow_copy, max_repeat=args.max_repeat,
                      style=args.style, max_tokens=args.max_tokens, cipai=args.cipai)
        poems = (poet.write(rerank=args.rerank, **params) if args.rerank or args.n < BATCH_WITH_PROGRESS
                 else _write_with_progress(poet, params))
    if args.json:
        print(json.dumps([p.to_dict() for p in poems], ensure_ascii=False, indent=2))
        return
    for i, poem in enumerate(poems):
        if i:
            print()
        print(f"【{poem.cipai or poem.form}】 score {poem.score:.3f}  {poem.check.get('verdict', '')}")
        print(poem.text)
        print(f"id: {poem.id}")


BATCH_WITH_PROGRESS = 32  # poems from which `generate` shows a bar (on a terminal)
PROGRESS_CHUNK = 8  # tokens decoded between two updates of the bar


def _write_with_progress(poet, params: dict) -> list:
    """write(), streamed so that a bar counts the tokens written (same poems as one pass)."""
    from tqdm import tqdm

    bar = tqdm(desc=f"writing {params['n']} poems", unit="token", disable=None)
    poems: list = []
    for _, finished in poet.write_stream(chunk=PROGRESS_CHUNK, **params):
        bar.update(PROGRESS_CHUNK)
        poems = finished or poems
    bar.close()
    return poems


def _check(args: argparse.Namespace) -> None:
    from ..verse.check import check_text

    text = sys.stdin.read() if args.text == "-" else args.text
    if args.fix:
        return _fix(args, text)
    report = check_text(text, cipai=args.cipai)  # a rule-based check: no model, no TensorFlow
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
        return
    print(report.verdict)
    print(_tone_table(report))
    if report.rhyme_chars:
        print(f"韵脚: {' '.join(report.rhyme_chars)}  {report.rhyme_group or '不同韵'}")


def _fix(args: argparse.Namespace, text: str) -> None:
    """check --fix: the repair the model ranks best, each change named, then its check."""
    from ..api import Poet

    repaired = Poet.load(args.model).repair(text, args.cipai)
    if args.json:
        print(json.dumps({**repaired.report.to_dict(), "text": repaired.text,
                          "changes": [c.to_dict() for c in repaired.changes]}, ensure_ascii=False, indent=2))
        return
    if repaired.unchanged:
        print(f"合律，无需修改：{repaired.report.verdict}")
        return
    print(repaired.text)
    for c in repaired.changes:
        print(f"  第 {c.line + 1} 句第 {c.position + 1} 字：{c.old} → {c.new}（{c.why}）")
    print(repaired.report.verdict)


def _tone_table(report) -> str:
    """The poem's tones (本诗) beside its pattern's (格律), a ✗ under each fault and a legend,
    for a learner who would not know which column is which. Every cell is one full-width
    character wide (？ for an unknown tone, 　 to pad) so that the columns and marks line up
    on a terminal."""
    from ..text.forms import FORM_SHAPES
    from ..verse.patterns import patterns
    from ..verse.pingshui import EITHER, UNKNOWN

    want = list(report.expected)
    if report.form in FORM_SHAPES.values():
        # A shi's report gives its pattern in full; the positions the check lets go (一三五不论,
        # unless 孤平 or 三平尾 would follow) read 中, as a ci's pattern does.
        pattern = next((p for p in patterns(report.form)
                        if p.name == report.pattern and list(p.lines) == want), None)
        if pattern is not None:
            want = ["".join(t if j in strict else EITHER for j, t in enumerate(line))
                    for line, strict in zip(pattern.lines, pattern.strict)]
    width = max([2, *(len(t) for t in report.tones)])
    rows = [f"  本诗{'　' * (width - 2)}" + ("   格律" if want else "")]
    for i, tones in enumerate(report.tones):
        if i and i == report.stanza:
            rows.append("")
        shown = tones.replace(UNKNOWN, "？").ljust(width, "　")
        rows.append(f"  {shown}   {want[i]}" if i < len(want) else f"  {shown}")
        marks = "".join("✗ " if [i, j] in report.violations else "  " for j in range(len(tones)))
        if marks.strip():
            rows.append(f"  {marks}".rstrip())
    legend = ["中：可平可仄（本诗：字有平仄两读）"]
    if any(UNKNOWN in t for t in report.tones):
        legend.append("？：韵书未收")
    if want:
        legend.append("✗：失律")
    rows.append("  " + "；".join(legend))
    return "\n".join(rows)


def _cipai(args: argparse.Namespace) -> None:
    from ..verse.tunes import find, load, load_variants

    if args.name:
        tune = find(args.name)
        variants = load_variants()[tune.name]
        if args.json:
            print(json.dumps([v.to_dict() for v in variants], ensure_ascii=False, indent=2))
            return
        for v in variants:
            label = "正体" if v.variant == 0 else f"又一体 {v.variant}"
            print(f"{tune.name} · {label} · {v.n_chars} 字 · {v.shape_share:.0%} of {v.poems} ci")
            print(v.shape_text() + "\n")
        return
    tunes = list(load().values())
    if args.json:
        print(json.dumps([t.to_dict() for t in tunes], ensure_ascii=False, indent=2))
        return
    print(f"{len(tunes)} 词牌, most written first (`poetgen cipai NAME` shows one):")
    for t in tunes:
        tones = {t.rhyme_tone(i) for i in t.rhymes}
        rhyme = "平韵" if tones == {"平"} else "仄韵" if tones == {"仄"} else "平仄韵"
        print(f"  {t.name:<10}{t.n_chars:>4} 字 {len(t.lengths):>3} 句  {rhyme}  "
              f"{'/'.join(map(str, t.lengths))}  ({t.poems} ci)")


def _evaluate(args: argparse.Namespace) -> None:
    from ..model.evaluate import evaluate_poems
    from ..model.network import load_model_dir

    if (args.poems is None) == (args.split is None):
        raise PoetgenError("give --poems FILE_OR_FOLDER or --split valid (the corpus's validation split), not both")
    model, _, tokenizer = load_model_dir(args.model or _default_model())
    if args.poems is not None:
        result = evaluate_poems(model, tokenizer, args.poems, progress=True)
    else:
        from ..corpus.splits import load_split
        from ..model.evaluate import split_perplexity

        result = split_perplexity(model, tokenizer, load_split(args.corpus, args.split), progress=True)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    elif args.poems is not None:
        for key, value in result.items():
            print(f"{key}: {value:.3f}" if isinstance(value, float) else f"{key}: {value}")
    else:
        print(f"{'subset':<24}{'poems':>8}{'chars':>11}{'char ppl':>10}")
        for name, row in result.items():
            print(f"{name:<24}{row['poems']:>8}{row['chars']:>11}{row['char_perplexity']:>10.1f}")


def _default_model() -> Path:
    from ..api import default_model_dir

    return default_model_dir()


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
    p.set_defaults(func=_prepare)

    add_train_parser(sub)
    add_generate_parser(sub)

    p = sub.add_parser("check", help="the 格律 report of a poem")
    p.add_argument("text", help="the poem, or - to read it from standard input")
    p.add_argument("--model", help="model directory for --fix (default: the shipped model; a check needs none)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--cipai", help="check as a ci of this 词牌 (default: the tune its shape is, if any)")
    p.add_argument("--fix", action="store_true",
                   help="the fewest changes, at the faulty characters only, that make it 合律 (loads the model)")
    p.set_defaults(func=_check)

    p = sub.add_parser("cipai", help="the 词牌 poetgen knows, or one tune's pattern")
    p.add_argument("name", nargs="?", help="a 词牌: show its pattern and variant shapes")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cipai)

    p = sub.add_parser("serve", help="the web page (same as python app.py)", add_help=False)
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=lambda a: __import__("poetgen.app.page", fromlist=["main"]).main(a.rest))

    p = sub.add_parser("evaluate", help="perplexity of a model on chinese-poetry JSON poems")
    p.add_argument("--model", help="model directory (default: the shipped model)")
    p.add_argument("--poems", help="a chinese-poetry JSON file or a folder of them")
    p.add_argument("--split", choices=["train", "valid"],
                   help="a split of the corpus instead, reported per collection and form")
    p.add_argument("--corpus", default="corpus", help="the corpus of --split (default: corpus)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_evaluate)

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
    p.set_defaults(func=_export)
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
    p.add_argument("--strategy", default="default", choices=["default", "mirrored", "multiworker"],
                   help="tf.distribute strategy: one device, all local devices, or workers from TF_CONFIG")
    p.add_argument("--cpu-devices", type=int, default=0,
                   help="split the CPU into this many logical devices (to try --strategy mirrored)")
    p.add_argument("--verbose", type=int, default=None, choices=[0, 1, 2],
                   help="0 silent, 1 progress bar, 2 one line per epoch (default: 1 on a terminal)")
    p.add_argument("--limit-poems", type=int, default=0, help=argparse.SUPPRESS)
    p.set_defaults(func=_train)


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
    p.add_argument("--tones", choices=["off", "rhyme", "strict"], default=w["tones"],
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
    p.add_argument("--rerank", action="store_true", help="sample 3n, keep the n most likely")
    p.add_argument("-n", type=_number(int), default=1, help="number of poems")
    p.add_argument("--seed", type=_number(int), default=None)
    p.add_argument("--script", choices=["simplified", "traditional"], default=w["script"],
                   help=f"of the poems shown (default: {w['script']})")
    p.add_argument("--id", default=None, help="rebuild the poem with this id")
    p.add_argument("--json", action="store_true", help="print a JSON list of poems")
    p.set_defaults(func=_generate)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if args.command not in ("prepare", "check", "cipai") or getattr(args, "fix", False):  # only these need TensorFlow
        with quiet_native_stderr():
            import tensorflow  # noqa: F401
    try:
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
