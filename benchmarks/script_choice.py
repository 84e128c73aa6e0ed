"""Why the corpus stays in traditional characters: vocabulary size, coverage and prosody
ambiguity of the training split in each script.

    python -m benchmarks.script_choice [--corpus corpus]
"""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict

from opencc import OpenCC

from poetgen.corpus.splits import load_split
from poetgen.text.forms import is_han
from poetgen.verse.pingshui import rhyme_table


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", default="corpus")
    args = parser.parse_args()
    rows = load_split(args.corpus, "train")
    trad = Counter(ch for r in rows for ch in r["text"] if is_han(ch))
    t2s = OpenCC("t2s")
    simp: Counter = Counter()
    sources: dict[str, set[str]] = defaultdict(set)
    for ch, n in trad.items():
        s = t2s.convert(ch)
        simp[s] += n
        sources[s].add(ch)
    table = rhyme_table()
    total = sum(trad.values())

    def summary(counts: Counter) -> dict:
        kept = [c for c, n in counts.items() if n >= 3]
        return {"distinct": len(counts), "vocab_min_count_3": len(kept),
                "coverage_min_count_3": round(sum(counts[c] for c in kept) / total, 5),
                "known_to_rhyme_table": round(sum(n for c, n in counts.items() if table.tones(c)) / total, 5)}

    merged = {s: chars for s, chars in sources.items() if len(chars) > 1}
    # Merges whose traditional sources are all in the table yet differ in rhyme groups:
    # in simplified text the prosody of these characters could no longer be told apart.
    tone_conflicts = {s: chars for s, chars in merged.items()
                      if all(c in table.char_groups for c in chars)
                      and len({table.char_groups[c] for c in chars}) > 1}
    conflict_tokens = sum(trad[c] for chars in tone_conflicts.values() for c in chars)
    result = {
        "traditional": summary(trad),
        "simplified": summary(simp),
        "simplified_chars_merging_several_traditional": len(merged),
        "merges_whose_sources_differ_in_rhyme_groups": len(tone_conflicts),
        "share_of_text_in_such_merges": round(conflict_tokens / total, 4),
        "examples": {s: "".join(sorted(c)) for s, c in list(tone_conflicts.items())[:12]},
    }
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
