"""benchmarks/readers.py: the blind set hides the source, score's figures are right, and bad
ratings files are refused. No model: the machine source is a JSON file of poems."""

import json
import sys
from fractions import Fraction
from pathlib import Path

import opencc
import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # a bare `pytest` puts tests/ on the path, not the repository root
    sys.path.insert(0, str(ROOT))

from benchmarks import readers

MACHINE = [
    {"form": "七绝", "text": "江上秋風吹客衣，（一作「帆」）山中落葉滿柴扉。故人一別音書斷，獨倚高樓看雁飛。"},
    {"form": "词", "cipai": "浣溪沙",
     "text": "小院春深燕子飞，一帘花雨湿罗衣。闲愁无奈送春归。\n梦里江南烟水阔，楼头明月夜凉时。相思只有杜鹃知。"},
    {"form": "五绝", "text": "白云生远岫，明月照寒江。独坐无人问，秋声到小窗。"},
    {"form": "五律", "text": "古寺依山静，[閒]门对水开。松风吹客袂，竹露湿苍苔。"
                             "野鹤随云去，孤僧踏月来。此身何所似，一片出尘埃。"},
]
PER_SOURCE = 4


@pytest.fixture(scope="module")
def blind_set(tmp_path_factory):
    root = tmp_path_factory.mktemp("readers")
    poems = root / "mine.json"
    poems.write_text(json.dumps(MACHINE, ensure_ascii=False), encoding="utf-8")
    out = root / "set"
    readers.main(["make", "--out", str(out), "--per-source", str(PER_SOURCE), "--seed", "3",
                  "--source", f"mine=@{poems}"])
    key = json.loads((out / "key.json").read_text(encoding="utf-8"))
    return out, key, (out / "items.md").read_text(encoding="utf-8")


def parse_items(md: str) -> dict[int, tuple[str, list[str]]]:
    """Item number -> (its heading's label, its lines), from items.md."""
    blocks = {}
    for block in md.split("\n## ")[1:]:
        head, *lines = [x for x in block.splitlines() if x]
        number, label = head.split(" · ")
        blocks[int(number)] = (label, lines)
    return blocks


def test_items_hide_the_source(blind_set):
    out, key, md = blind_set
    items = {int(k): v for k, v in key["items"].items()}
    assert sorted(items) == list(range(1, 2 * PER_SOURCE + 1))
    assert [it["source"] for it in items.values()].count("human") == PER_SOURCE
    blocks = parse_items(md)
    assert sorted(blocks) == sorted(items)
    t2s = opencc.OpenCC("t2s")
    for number, item in items.items():
        label, lines = blocks[number]
        assert label == (item["cipai"] or item["form"])  # the form or tune, nothing else
        assert lines == item["shown"] == readers.display_lines(item["text"])
        assert all(line[-1] in "，。" for line in lines)  # one 句 per line, with its mark
        body = "".join(lines)
        assert t2s.convert(body) == body  # simplified
        assert not any(ch in body for ch in "（）()[]「」\n")  # editorial notes and brackets gone
    assert "一作" not in md and "帆" not in md
    human = [it for it in items.values() if it["source"] == "human"]
    assert any(t2s.convert(it["text"]) != it["text"] for it in human)  # the corpus's traditional text was converted
    for it in human:  # no author, no title (a ci's title is often its tune, which the heading shows anyway)
        assert it["author"] and it["author"] not in md
        if it["title"] != it["cipai"]:
            assert it["title"] not in md
    items_part = md.split("\n## ", 1)[1]  # after the header, which speaks of poets and a program
    assert "mine" not in md and "human" not in items_part and "@" not in md
    sources = [items[n]["source"] for n in sorted(items)]
    assert sum(a != b for a, b in zip(sources, sources[1:])) > 1  # shuffled, not in blocks
    assert {it["form"] for it in items.values() if it["source"] == "mine"} <= {"七绝", "词", "五绝", "五律"}


def test_make_is_deterministic_and_keeps_its_key(blind_set, tmp_path):
    out, key, md = blind_set
    poems = out.parent / "mine.json"
    args = ["make", "--out", str(tmp_path), "--per-source", str(PER_SOURCE), "--seed", "3",
            "--source", f"mine=@{poems}"]
    readers.main(args)
    assert (tmp_path / "items.md").read_text(encoding="utf-8") == md
    with pytest.raises(SystemExit):  # a key that ratings may refer to is not overwritten
        readers.main(args)


def rating(item, scores, human):
    return {"item": item, **dict(zip(readers.CRITERIA, scores)), "human": human, "note": "…"}


def write_ratings(path, rows):
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return path


def fake_ratings(key, tmp_path):
    """Reader a: every poet's poem (5,4,4,3) human, every machine poem (2,2,1,3) machine.
    Reader b: the first poet's poem (4,4,4,4) human, the others (3,3,3,3) machine; the first
    machine poem (3,2,2,1) human, the others (1,1,1,1) machine."""
    numbers = sorted(int(k) for k in key["items"])
    human = [n for n in numbers if key["items"][str(n)]["source"] == "human"]
    machine = [n for n in numbers if n not in human]
    a = [rating(n, (5, 4, 4, 3), True) for n in human] + [rating(n, (2, 2, 1, 3), False) for n in machine]
    b = ([rating(human[0], (4, 4, 4, 4), True)] + [rating(n, (3, 3, 3, 3), False) for n in human[1:]]
         + [rating(machine[0], (3, 2, 2, 1), True)] + [rating(n, (1, 1, 1, 1), False) for n in machine[1:]])
    return write_ratings(tmp_path / "a.jsonl", a), write_ratings(tmp_path / "b.jsonl", b)


def test_score_matches_a_hand_computation(blind_set, tmp_path, capsys):
    out, key, _ = blind_set
    a, b = fake_ratings(key, tmp_path)
    numbers = {int(k) for k in key["items"]}
    rows = {r["source"]: r for r in readers.summarize(key, {"a": readers.read_ratings(a, numbers),
                                                             "b": readers.read_ratings(b, numbers)})}
    n, k = PER_SOURCE, PER_SOURCE - 1  # items per source; b's items after the first
    human, mine = rows["human"], rows["mine"]
    assert (human["items"], human["ratings"]) == (n, 2 * n)
    expected_human = {"fluency": Fraction(5 * n + 4 + 3 * k, 2 * n), "coherence": Fraction(4 * n + 4 + 3 * k, 2 * n),
                      "meaning": Fraction(4 * n + 4 + 3 * k, 2 * n), "poeticness": Fraction(3 * n + 4 + 3 * k, 2 * n),
                      "overall": Fraction(4 * n + 4 + 3 * k, 2 * n), "human_share": Fraction(n + 1, 2 * n),
                      "reader_min": Fraction(4 + 3 * k, n), "reader_max": Fraction(4)}
    expected_mine = {"fluency": Fraction(2 * n + 3 + k, 2 * n), "coherence": Fraction(2 * n + 2 + k, 2 * n),
                     "meaning": Fraction(n + 2 + k, 2 * n), "poeticness": Fraction(3 * n + 1 + k, 2 * n),
                     "overall": Fraction(2 * n + 2 + k, 2 * n), "human_share": Fraction(1, 2 * n),
                     "reader_min": Fraction(2 + k, n), "reader_max": Fraction(2)}
    for row, expected in ((human, expected_human), (mine, expected_mine)):
        for name, value in expected.items():
            assert row[name] == pytest.approx(float(value)), (row["source"], name)
    assert human["readers"] == pytest.approx({"a": 4.0, "b": float(Fraction(4 + 3 * k, n))})
    readers.main(["score", "--dir", str(out), str(a), str(b)])
    printed = capsys.readouterr().out
    # n = 4. Poets: fluency 33/8, coherence = meaning = overall 29/8, poeticness 25/8, 5/8 taken
    # for human, readers 13/4 and 4. Machine: 14/8, 13/8, 9/8, 16/8, overall 13/8, 1/8, readers
    # 5/4 and 2. (Format rounds the exact halves to even: 4.125 -> 4.12, 62.5% -> 62%.)
    assert "| human | 4 | 8 | 4.12 | 3.62 | 3.62 | 3.12 | **3.62** | 62% | 3.25–4.00 |" in printed
    assert "| mine | 4 | 8 | 1.75 | 1.62 | 1.12 | 2.00 | **1.62** | 12% | 1.25–2.00 |" in printed


@pytest.mark.parametrize("damage, message", [
    (lambda rows: rows[1:], "missing items"),
    (lambda rows: [{**rows[0], "fluency": 6}, *rows[1:]], "fluency must be a whole number from 1 to 5"),
    (lambda rows: [{**rows[0], "meaning": 2.5}, *rows[1:]], "meaning must be a whole number"),
    (lambda rows: [*rows, {**rows[0], "item": 99}], "unknown item 99"),
    (lambda rows: [*rows, rows[0]], "rated twice"),
    (lambda rows: [{**rows[0], "human": "yes"}, *rows[1:]], "human must be true or false"),
])
def test_bad_ratings_are_refused_by_name(blind_set, tmp_path, capsys, damage, message):
    out, key, _ = blind_set
    a, _ = fake_ratings(key, tmp_path)
    rows = [json.loads(line) for line in a.read_text(encoding="utf-8").splitlines()]
    bad = write_ratings(tmp_path / "bad.jsonl", damage(sorted(rows, key=lambda r: r["item"])))
    with pytest.raises(SystemExit) as exit_info:
        readers.main(["score", "--dir", str(out), str(a), str(bad)])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert str(bad) in err and message in err


def test_bad_sources_are_refused():
    for arg, message in (("human={}", "poets' own"), ("t={\"form\": \"七绝\"}", "come from the human items"),
                         ("t={\"temprature\": 1}", "temprature"), ("t=[1]", "JSON object")):
        with pytest.raises((readers.ReadersError, ValueError), match=message):
            readers.parse_source(arg)


def test_proxy_rules():
    assert readers.repeated_chars("萧萧落木下，萧瑟不知秋。") == 1  # 萧 only
    assert readers.repeated_chars("明月照明月，月明。") == 2
    assert readers.seasons_of("春风吹柳絮，秋雁过江楼。") == {"春", "秋"}
    assert readers.season_clash({"春", "秋"}) and readers.season_clash({"夏", "冬"})
    assert not readers.season_clash({"春", "夏"}) and not readers.season_clash({"冬", "春"})
    assert readers.season_clash({"春", "夏", "秋"}) and not readers.season_clash({"秋"})
    assert readers.seasons_of("青春不再来，千秋万岁名。") == set()  # youth and ages are no seasons


def test_reader_sources_names_a_model_only_when_given():
    from benchmarks.reader_sources import parse_source

    assert parse_source('plain={}') == ("plain", None, {})
    assert parse_source('lines={"search": "lines"}') == ("lines", None, {"search": "lines"})
    assert parse_source('bw=/tmp/m/poetgen:{"polish": true}') == ("bw", "/tmp/m/poetgen", {"polish": True})


def test_a_poem_two_sources_chose_is_shown_once_and_counts_for_both(tmp_path, capsys):
    """Paired sources (the same drafts, another way of choosing) often keep the same poem: readers
    see it once, its ratings count for each source, and the paired difference is taken slot by
    slot (a shared poem differs by nothing)."""
    other = [dict(p) for p in MACHINE]
    other[0]["text"], other[2]["text"] = "孤舟夜泊寒江上，两岸青山月满船。", "山空松子落，幽人应未眠。"
    files = {}
    for name, poems in (("mine", MACHINE), ("other", other)):
        files[name] = tmp_path / f"{name}.json"
        files[name].write_text(json.dumps(poems, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "set"
    readers.main(["make", "--out", str(out), "--per-source", str(PER_SOURCE), "--seed", "3",
                  *(f"--source={name}=@{path}" for name, path in files.items())])
    key = json.loads((out / "key.json").read_text(encoding="utf-8"))
    items = {int(k): v for k, v in key["items"].items()}
    assert len(items) == 3 * PER_SOURCE - 2  # the two poems both files hold are items once each
    shared = [n for n, it in items.items() if it.get("also") == ["other"]]
    assert len(shared) == 2 and all(items[n]["source"] == "mine" for n in shared)
    # one reader: "mine" 2 on every item, "other" 4 on its own two poems
    ratings = [rating(n, (4, 4, 4, 4) if it["source"] == "other" else (2, 2, 2, 2), it["source"] == "human")
               for n, it in items.items()]
    path = write_ratings(tmp_path / "r.jsonl", ratings)
    rows = {r["source"]: r for r in readers.summarize(key, {"r": readers.read_ratings(path, set(items))})}
    assert rows["mine"]["items"] == rows["other"]["items"] == PER_SOURCE
    assert rows["other"]["overall"] == pytest.approx((4 + 4 + 2 + 2) / 4)
    # Paired, slot by slot: the panel's slots (seed 3) are 减字木兰花, 五律, 七绝, 西江月, so only the
    # 五律 (shared: no difference) and the 七绝 (other's own, 4 against 2) pair; the 浣溪沙 and the
    # 五绝 fill no slot and pair with nothing.
    (diff,) = readers.paired(key, {"r": readers.read_ratings(path, set(items))})
    assert (diff["source"], diff["base"], diff["slots"], diff["same"]) == ("other", "mine", 2, 1)
    assert diff["difference"] == pytest.approx((0 + 2) / 2)
    assert (diff["better"], diff["worse"]) == (1, 0)
    readers.main(["score", "--dir", str(out), str(path)])
    printed = capsys.readouterr().out
    assert "paired, other − mine: +1.00 over 2 slots (1 the same poem; better on 1, worse on 0)" in printed
    readers.main(["score", "--json", "--dir", str(out), str(path)])
    scored = json.loads(capsys.readouterr().out)
    assert [r["source"] for r in scored["sources"]] == [r["source"] for r in readers.summarize(
        key, {"r": readers.read_ratings(path, set(items))})]
    assert scored["paired"] == [diff]
