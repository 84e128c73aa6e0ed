"""The one checker: a poem or ci as a person types it, read against the closest 格律
pattern (shi) or its tune (ci), and the Report of what holds and what does not. No
model is needed."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ..errors import GenerationError
from ..text.forms import CI, FORM_SHAPES, split_lines
from ..text.script import converter
from ..text.user_text import readable
from .ci_rhymes import NAMES as BU_NAMES
from .ci_rhymes import bu_of
from .patterns import Pattern, fits, has_gu_ping, has_san_ping_wei, patterns
from .pingshui import EITHER, PING, RhymeTable, rhyme_table
from .readings import readings
from .tunes import CiPattern, by_shape, find

# ----------------------------------------------------------------------------- checking

def check_ci(lines: list[str], pattern: CiPattern, table: RhymeTable) -> Report:
    """The report of a ci (lines in traditional characters) against a tune's pattern."""
    tones = ["".join(table.tone(ch) for ch in line) for line in lines]
    report = Report(form=CI, pattern=pattern.name, tones=tones, expected=list(pattern.tones), stanza=pattern.stanza)
    if [len(line) for line in lines] != list(pattern.lengths):
        report.verdict = (f"词 · {pattern.name}：句式不合（应为 {'/'.join(map(str, pattern.lengths))} 字，"
                          f"实为 {'/'.join(str(len(line)) for line in lines)} 字）")
        return report
    report.violations = [[i, j] for i, line in enumerate(tones) for j, tone in enumerate(line)
                         if pattern.tones[i][j] != EITHER and not fits(tone, pattern.tones[i][j])]
    report.rhyme_lines = list(pattern.rhymes)
    report.rhyme_chars = [lines[i][-1] for i in pattern.rhymes]
    groups, rhymes = [], True
    for chain in range(max(pattern.chains, default=-1) + 1):
        shared = None
        for i, c in enumerate(pattern.chains):
            if c == chain:
                ping, ze = bu_of(table, lines[i][-1])
                mine = ping if pattern.rhyme_tone(i) == PING else ze
                shared = mine if shared is None else shared & mine
        rhymes = rhymes and bool(shared)
        if shared:
            groups.append(BU_NAMES[min(shared)])
    report.rhymes = rhymes
    report.rhyme_group = "、".join(dict.fromkeys(groups))
    faults = ([f"{len(report.violations)} 处失律"] if report.violations else []) + ([] if rhymes else ["韵脚不同部"])
    rhyme = f"押{report.rhyme_group}" if rhymes else "出韵"
    report.verdict = f"词 · {pattern.name} · {rhyme} · " + ("合律" if not faults else "，".join(faults))
    return report


def check_as_ci(text: str, table: RhymeTable, cipai: str | None = None) -> Report | None:
    """The ci report of a text (traditional, lines marked ，。) against the named tune, or the
    best-fitting tune of its shape; None when no tune has its shape."""
    lines = split_lines(text)
    candidates = by_shape(tuple(len(line) for line in lines), cipai)
    if cipai and not candidates:
        return check_ci(lines, find(cipai), table)  # names the shape it should have
    if not candidates:
        return None
    reports = [check_ci(lines, p, table) for p in candidates]
    return min(reports, key=lambda r: (len(r.violations) + 2 * (not r.rhymes)))


@dataclass
class Report:
    form: str
    pattern: str = ""  # e.g. 仄起首句不入韵
    tones: list[str] = field(default_factory=list)  # per line, 平/仄/中/?
    expected: list[str] = field(default_factory=list)  # the closest pattern, per line
    violations: list[list[int]] = field(default_factory=list)  # [line, position] at strict positions
    rhyme_lines: list[int] = field(default_factory=list)  # 0-based lines whose last character rhymes
    rhyme_chars: list[str] = field(default_factory=list)
    rhyme_group: str = ""  # the 平水韵 group they share, if any
    rhymes: bool = False
    stanza: int = 0  # a ci's line that opens its 下阕 (0: one stanza, or a shi)
    gu_ping: list[int] = field(default_factory=list)  # lines with 孤平
    san_ping_wei: list[int] = field(default_factory=list)  # lines with 三平尾
    # Rhyme lines whose 多音字, read after the character before it, the poets rhymed in other
    # groups only (送君行 among 陽 rhymes): no fault of the 格律, a note for the reader's ear.
    heard_apart: list[int] = field(default_factory=list)
    verdict: str = ""

    @property
    def ok(self) -> bool:
        return self.rhymes and not self.violations and not self.gu_ping and not self.san_ping_wei

    def to_dict(self) -> dict:
        return {**asdict(self), "ok": self.ok}


def check(text: str, table: RhymeTable | None = None) -> Report:
    """The 格律 of a poem: form, closest pattern, violations, rhyme, 孤平 and 三平尾."""
    table = table or rhyme_table()
    lines = split_lines(text.replace("\n", "").replace(" ", ""))
    lengths = {len(line) for line in lines}
    form = FORM_SHAPES.get((lengths.pop(), len(lines)), "其他") if len(lengths) == 1 else "其他"
    tones = ["".join(table.tone(ch) for ch in line) for line in lines]
    report = Report(form=form, tones=tones)
    if form == "其他":
        report.verdict = f"非格律诗体（{len(lines)} 句）：不作平仄检查"
        return report

    def misses(p: Pattern) -> list[list[int]]:
        return [[i, j] for i, (line, want) in enumerate(zip(tones, p.lines)) for j in p.strict[i]
                if not fits(line[j], want[j])]

    # The closest pattern: a rhyme position that does not rhyme counts as two misses.
    best = min(patterns(form), key=lambda p: len(misses(p)) + 2 * (not _rhyme_share(lines, p, table)))
    report.pattern = best.name
    report.expected = list(best.lines)
    report.violations = misses(best)
    report.rhyme_lines = list(best.rhymes)
    report.rhyme_chars = [lines[i][-1] for i in best.rhymes]
    shared = set.intersection(*(table.ping_groups(ch) for ch in report.rhyme_chars))
    report.rhymes = bool(shared)
    report.rhyme_group = table.groups[min(shared)] if shared else ""
    report.heard_apart = heard_apart(lines, report.rhyme_lines, shared, table)
    report.gu_ping = [i for i, t in enumerate(tones) if has_gu_ping(t)]
    report.san_ping_wei = [i for i, t in enumerate(tones) if has_san_ping_wei(t)]
    faults = []
    if report.violations:
        faults.append(f"{len(report.violations)} 处失律")
    if not report.rhymes:
        faults.append("韵脚不同韵")
    if report.gu_ping:
        faults.append("犯孤平")
    if report.san_ping_wei:
        faults.append("三平尾")
    rhyme = f"押{report.rhyme_group}韵" if report.rhymes else "出韵"
    report.verdict = f"{form} · {best.name} · {rhyme} · " + ("合律" if not faults else "，".join(faults))
    for i in report.heard_apart:
        heard = "、".join(table.short_name(g) for g in sorted(readings().groups(lines[i][-2], lines[i][-1], table)))
        report.verdict += f"（注：第{i + 1}句「{lines[i][-2:]}」，诗人多押{heard}韵，读来或似出韵）"
    return report


def heard_apart(lines: list[str], rhyme_lines: list[int], shared: set[int], table: RhymeTable) -> list[int]:
    """The rhyme lines whose last character, read after the one before it, the poets rhymed in
    none of the groups the rhymes share (verse/readings.py); none where they share no group."""
    if not shared:
        return []
    return [i for i in rhyme_lines if len(lines[i]) >= 2
            and not readings().groups(lines[i][-2], lines[i][-1], table) & shared]


def _rhyme_share(lines: list[str], p: Pattern, table: RhymeTable) -> bool:
    return bool(set.intersection(*(table.ping_groups(lines[i][-1]) for i in p.rhymes)))


def check_text(text, table: RhymeTable | None = None, cipai: str | None = None) -> Report:
    """check() of a poem as a person types it: any punctuation, spaces and line breaks. No model
    is needed; the characters are read in either script. A text of no regulated form is checked
    as a ci when its shape is a tune's (or against the tune named by `cipai`)."""
    import re

    from ..defaults import MAX_CHECK_TEXT

    if not isinstance(text, str) or not text.strip():
        raise GenerationError("nothing_to_check")
    if len(text) > MAX_CHECK_TEXT:
        raise GenerationError("too_long", what="poem", length=len(text), limit=MAX_CHECK_TEXT)
    cleaned = re.sub(r"[\s　]+", "", readable(text, "poem"))
    cleaned = re.sub("[、；：！？,.;:!?]", lambda m: "。" if m.group() in "！？!?.。" else "，", cleaned)
    if not re.fullmatch(r"([^，。]+[，。])+", cleaned):
        cleaned = cleaned.rstrip("，") + ("" if cleaned.endswith("。") else "。")
    if not re.fullmatch(r"([^，。]+[，。])+", cleaned):
        raise GenerationError("not_lines")
    # Read in traditional characters, as the 平水韵 table is: a simplified character can stand
    # for several (种 for 種, 听 for 聽) and would otherwise be read as itself, a rarer
    # character with another tone. OpenCC reads by phrase; traditional text is left as it is.
    pass

    traditional, table = converter("s2t").convert(cleaned), table or rhyme_table()
    table = table.reading(cleaned, traditional)
    report = check(traditional, table) if not cipai else None
    if report is None or report.form == "其他":
        report = check_as_ci(traditional, table, cipai) or report
    return report
