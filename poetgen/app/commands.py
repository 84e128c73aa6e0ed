"""What each `poetgen` command does, over the API and the training code: the parser
(cli.py) hands each its parsed arguments."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import PoetgenError
from ..model.config import TrainConfig, defaults

DEFAULT_RUNS = Path.home() / ".cache" / "poetgen" / "runs"


def run_prepare(args: argparse.Namespace) -> None:
    from ..corpus.prepare import prepare

    stats = prepare(args.source, args.out)
    print(json.dumps(stats, ensure_ascii=False, indent=2))


def run_train(args: argparse.Namespace) -> None:
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
                  strategy=strategy, verbose=args.verbose, init=args.init)
    if args.verbose != 0:
        print(f"finished at epoch {state.epoch}, step {state.steps}"
              + (f" ({state.stopped})" if state.stopped else "")
              + f"; weights sha256 {state.weights_sha256}", flush=True)
    if args.out:
        metrics = export(run, args.out, corpus_dir=args.corpus)
        print(f"model written to {args.out}: validation character perplexity "
              f"{metrics['val_char_perplexity']:.1f}")


def run_export(args: argparse.Namespace) -> None:
    from ..training.export import export

    run = Path(args.run) if "/" in args.run else DEFAULT_RUNS / args.run
    metrics = export(run, args.out, command=args.command, corpus_dir=args.corpus, half=args.float16,
                     average=args.average)
    print(f"model written to {args.out}: validation character perplexity "
          f"{metrics['val_char_perplexity']:.1f}")


def run_generate(args: argparse.Namespace) -> None:
    from ..api import Poet

    poet = Poet.load(args.model)
    if args.id:
        poems = [poet.regenerate(args.id)]
    else:
        params = dict(start=args.start, form=args.form, temperature=args.temperature,
                      top_k=args.top_k, top_p=args.top_p, n=args.n, seed=args.seed,
                      script=args.script, acrostic=args.acrostic, tail=args.tail, theme=args.theme,
                      rhyme=args.rhyme, tones=args.tones, pattern=args.pattern,
                      no_copy=not args.allow_copy, max_repeat=args.max_repeat, rhyme_as_read=args.rhyme_as_read,
                      style=args.style, max_tokens=args.max_tokens, cipai=args.cipai, search=args.search,
                      polish=args.polish)
        poems = (poet.write(rerank=args.rerank, **params) if args.rerank or args.n < BATCH_WITH_PROGRESS
                 else _write_with_progress(poet, params))
    if args.json:
        print(json.dumps([p.to_dict() for p in poems], ensure_ascii=False, indent=2))
        return
    for i, poem in enumerate(poems):
        if i:
            print()
        print(f"【{poem.cipai or poem.form}】 score {poem.score:.3f}  {poem.report.get('verdict', '')}")
        print(poem.text)
        if poem.draft:
            print(f"polished: {_changes(poem.polished)}" if poem.polished else "polished: no change raised its score")
        print(f"id: {poem.id}")


def _changes(changes: list[dict]) -> str:
    """Polishing's changes as a reader reads them: 第2句第3字 原→新."""
    return "; ".join(f"第{c['line'] + 1}句第{c['position'] + 1}字 {c['from']}→{c['to']}" for c in changes)


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


def run_check(args: argparse.Namespace) -> None:
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


def run_cipai(args: argparse.Namespace) -> None:
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


def run_evaluate(args: argparse.Namespace) -> None:
    from ..model.evaluate import evaluate_poems
    from ..model.network import load_model_dir

    if (args.poems is None) == (args.split is None):
        raise PoetgenError("give --poems FILE_OR_FOLDER or --split valid (the corpus's validation split), not both")
    model, config, tokenizer = load_model_dir(args.model or _default_model())
    if args.poems is not None:
        result = evaluate_poems(model, tokenizer, args.poems, progress=True, reverse=config.reverse)
    else:
        from ..corpus.splits import load_split
        from ..model.evaluate import split_perplexity

        result = split_perplexity(model, tokenizer, load_split(args.corpus, args.split), progress=True,
                                  reverse=config.reverse)
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
