"""Machine poems for a readers' panel from several models and settings at once, each source with
seeds of its own (so that two sources never show readers the same draft twice), in the forms and
tunes of the panel's human items; `benchmarks.readers make --source NAME=@FILE` then takes them.

    python -m benchmarks.reader_sources --panel-seed 53 --per-source 10 --out DIR \\
        plain='{}' lines='{"search": "lines"}' bw8=/tmp/bw/poetgen-lstm512:'{}'

A source is NAME=JSON (the `Poet.write` parameters, on the shipped model) or NAME=MODEL_DIR:JSON
(another model directory; a backward partner beside it is loaded with it). Writes DIR/NAME.json.
The search's settings can be tried before they change: "_line_gain", "_weak", "_repeat_penalty"
and "_season_penalty" set that source's search.Weights (READERS otherwise), "_width" the
candidates a poem (writer.SEARCH_WIDTH otherwise).
"""

from __future__ import annotations

import argparse
import json
import zlib
from dataclasses import replace
from pathlib import Path

from poetgen import Poet
from poetgen.writing import writer
from poetgen.writing.search import READERS

from .readers import plan_slots

WIDTH = writer.SEARCH_WIDTH
WEIGHT_KNOBS = {"_line_gain": "line_gain", "_weak": "weak", "_repeat_penalty": "repeat", "_season_penalty": "season"}


def parse_source(spec: str) -> tuple[str, str | None, dict]:
    name, _, rest = spec.partition("=")
    if rest.lstrip().startswith("{"):
        return name, None, json.loads(rest)
    model, params = rest.split(":{", 1)
    return name, model, json.loads("{" + params)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--panel-seed", type=int, required=True)
    parser.add_argument("--per-source", type=int, default=10)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--paired", action="store_true",
                        help="every source the same seeds: sources that differ in how they choose write from the "
                             "same drafts, and readers.make shows a poem two of them chose once")
    parser.add_argument("sources", nargs="+", help="NAME=JSON or NAME=MODEL_DIR:JSON")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    poets: dict[str | None, Poet] = {}
    for name, model, params in map(parse_source, args.sources):
        poet = poets.setdefault(model, Poet.load(model))
        poet.writer.search.weights = replace(READERS, **{WEIGHT_KNOBS[k]: params.pop(k) for k in list(params)
                                                         if k in WEIGHT_KNOBS})
        writer.SEARCH_WIDTH = params.pop("_width", WIDTH)
        rows = []
        for k, slot in enumerate(plan_slots(args.per_source, args.panel_seed)):
            style = "唐" if slot.collection == "唐诗" else "宋"
            drafts = f"{args.panel_seed}:{k}" if args.paired else f"{args.panel_seed}:{name}:{k}"
            seed = zlib.crc32(drafts.encode()) % 2**31
            shape = dict(cipai=slot.cipai) if slot.form == "词" else dict(form=slot.form)
            poem = poet.write(n=1, seed=seed, script="traditional", style=style, **shape, **params)[0]
            rows.append({"form": slot.form, "cipai": slot.cipai or "", "text": poem.text.replace("\n", ""),
                         "id": poem.id})
        (args.out / f"{name}.json").write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
        print(f"{name}: {len(rows)} poems -> {args.out / (name + '.json')}")


if __name__ == "__main__":
    main()
