"""A prototype for the readers' panels, not the product: drafts of a regulated poem written by the
backward model, from the last character to the first, beside the forward model's, all scored by
the search as usual. Written backward, each line's rhyme is its first character, chosen freely
among the rhyme group with the later lines in view, and the rest of the line is written to lead
into it, where a forward draft must end its line on whatever rhyme the mask leaves (凑韵, the
readers' most named fault).

    python -m benchmarks.backward_drafts --panel-seed 131 --per-source 12 --out DIR \\
        --model /tmp/bw10/poetgen-lstm512 --forward 8 --backward 8 --name mixed

Writes DIR/NAME.json in reader_sources' layout (with --paired seeds). Regulated shi only: a ci
slot is written by the default search. The backward drafts keep the form, tones and rhyme (the
plan's masks, mirrored) and repeats; a draft with a line copied from the corpus is dropped after
decoding (the no-copy rule hashes lines as read forward).
"""

from __future__ import annotations

import argparse
import json
import zlib
from pathlib import Path

import numpy as np

from poetgen import Poet
from poetgen.corpus.splits import read_split_text
from poetgen.writing.decoder import Decoder
from poetgen.writing.merging import MergingDecoder
from poetgen.writing.params import WriteParams
from poetgen.writing.plan import Plan
from poetgen.writing.rules import PositionMask, Rhyme

from .readers import plan_slots


def mirrored(plan: Plan, opening: int) -> Plan:
    """The plan read from the end: the columns between the opening and <eos> reversed."""
    def flip(a: np.ndarray) -> np.ndarray:
        a = a.copy()
        a[:, opening:-1] = a[:, opening:-1][:, ::-1]
        return a

    rules = []
    for rule in plan.rules:
        if isinstance(rule, PositionMask):
            rule = PositionMask(flip(rule.mask_id), rule.masks)
        elif isinstance(rule, Rhyme):
            rule = Rhyme(flip(rule.rhyme_at), rule.groups)
        rules.append(rule)
    return Plan(flip(plan.forced), tuple(rules), None)


def corpus_lines(corpus: Path) -> set[str]:
    lines = set()
    for split in ("train", "valid"):
        for row in read_split_text(corpus, split).splitlines():
            text = json.loads(row)["text"]
            lines.update(part for part in text.replace("。", "，").replace("\n", "").split("，") if len(part) >= 4)
    return lines


class BackwardDrafts:
    def __init__(self, poet: Poet, corpus: Path):
        self.poet = poet
        self.backward = MergingDecoder(Decoder(poet.backward, poet.tokenizer, poet.vocab.members, None,
                                               poet.vocab.ci_members))
        self.copied = corpus_lines(corpus)

    def write(self, params: WriteParams, seed: int, forward: int, backward: int):
        writer, tok = self.poet.writer, self.poet.tokenizer
        rows = []
        if forward:
            prepared, plan = writer.plan(params, forward, seed)
            tokens, _, _ = writer.merging.decode(plan, prepared.sampling)
            rows += [row for row in tokens]
        if backward:
            prepared, plan = writer.plan(params.with_(no_copy=False), backward, seed + 1)
            opening = len(tok.opening(prepared.request.form, prepared.request.collection))
            tokens, _, _ = self.backward.decode(mirrored(plan, opening), prepared.sampling)
            for row in tokens:
                # row: the opening, the body read backward, <eos>
                body = row[opening:-1][::-1]
                text = tok.decode(body)
                if any(part in self.copied for part in text.replace("。", "，").split("，")):
                    continue
                rows.append(np.concatenate([row[:opening], body, row[-1:]]))
        tokens = np.stack(rows)
        scores = writer.search.scores(tokens)
        best = int(np.argmax(scores))
        poem = writer.poem(tokens[best], np.zeros(len(tokens[best])), prepared.request.form, params.script)
        return poem, best >= forward


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--panel-seed", type=int, required=True)
    parser.add_argument("--per-source", type=int, default=10)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--model", default=None)
    parser.add_argument("--corpus", type=Path, default=Path("corpus"))
    parser.add_argument("--forward", type=int, default=8)
    parser.add_argument("--backward", type=int, default=8)
    parser.add_argument("--name", default="backward")
    args = parser.parse_args(argv)
    poet = Poet.load(args.model)
    drafts = BackwardDrafts(poet, args.corpus)
    rows, kept_backward = [], 0
    for k, slot in enumerate(plan_slots(args.per_source, args.panel_seed)):
        style = "唐" if slot.collection == "唐诗" else "宋"
        seed = zlib.crc32(f"{args.panel_seed}:{k}".encode()) % 2**31  # reader_sources --paired
        if slot.form == "词":
            poem = poet.write(n=1, seed=seed, script="traditional", cipai=slot.cipai)[0]
        else:
            params = WriteParams.of(form=slot.form, style=style, script="traditional")
            poem, from_backward = drafts.write(params, seed, args.forward, args.backward)
            kept_backward += from_backward
            assert poem.report["ok"], poem.report
        rows.append({"form": slot.form, "cipai": slot.cipai or "", "text": poem.text.replace("\n", "")})
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.name}.json").write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    print(f"{args.name}: {len(rows)} poems ({kept_backward} kept from a backward draft) -> "
          f"{args.out / (args.name + '.json')}")


if __name__ == "__main__":
    main()
