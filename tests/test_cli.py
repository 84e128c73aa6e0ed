"""The CLI end to end, as a user runs it: each command through the command line's own main(argv)
in this process (`cli`: exit status, standard output and error), and in a process of its own
(`run_cli`, `start_cli`) where only a real process shows it: the entry point, its exit status and stderr, what
TensorFlow prints while it loads."""

import json

from conftest import cli, finish, start_cli


def test_prepare_train_generate_evaluate(fixture_dataset, tiny_corpus, tmp_path):
    out = cli("prepare", "--source", str(fixture_dataset), "--out", str(tmp_path / "corpus"))
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["poems"]["train"] + json.loads(out.stdout)["poems"]["valid"] == 5

    model = tmp_path / "model"
    out = cli("train", "--corpus", str(tiny_corpus), "--run", str(tmp_path / "run"), "--out", str(model),
              "--embed-dim", "8", "--hidden", "16", "--proj-dim", "8", "--epochs", "1",
              "--steps-per-epoch", "3", "--batch-size", "8", "--min-count", "2")
    assert out.returncode == 0, out.stderr
    assert "validation character perplexity" in out.stdout
    assert (model / "model.keras").is_file() and (model / "README.md").is_file()

    out = cli("generate", "--model", str(model), "--form", "五绝", "-n", "2", "--seed", "3", "--json")
    assert out.returncode == 0, out.stderr
    poems = json.loads(out.stdout)
    assert len(poems) == 2
    for poem in poems:
        assert {"text", "lines", "form", "score", "id", "report"} <= set(poem)
        assert [len(line) for line in poem["lines"]] == [5] * 4
        assert poem["text"].split("\n")[0] == poem["lines"][0] + "，"
    again = cli("generate", "--model", str(model), "--id", poems[1]["id"], "--json")
    assert json.loads(again.stdout)[0]["text"] == poems[1]["text"]

    poems_file = tmp_path / "poems.json"
    poems_file.write_text(json.dumps([{"paragraphs": ["床前明月光，疑是地上霜。"]}], ensure_ascii=False),
                          encoding="utf-8")
    out = cli("evaluate", "--model", str(model), "--poems", str(poems_file), "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["poems"] == 1 and result["chars"] == 10 and result["char_perplexity"] > 1

    half = tmp_path / "half"
    out = cli("export", "--run", str(tmp_path / "run"), "--out", str(half), "--corpus", str(tiny_corpus),
              "--float16")
    assert out.returncode == 0, out.stderr
    assert (half / "weights.f16.npz").is_file() and not (half / "model.keras").exists()
    out = cli("generate", "--model", str(half), "--form", "五绝", "--seed", "3", "--json")
    assert out.returncode == 0 and [len(line) for line in json.loads(out.stdout)[0]["lines"]] == [5] * 4
    out = cli("export", "--run", str(tmp_path / "run"), "--out", str(half), "--corpus", str(tiny_corpus),
              "--average", "2")
    assert out.returncode == 1 and "the best epoch of the run is epoch 1" in out.stderr
    assert "Traceback" not in out.stderr
    assert (half / "weights.f16.npz").is_file()  # the failed export left the model as it was


def test_check_reads_stdin_and_argument(tiny_model_dir):
    import subprocess
    import sys

    from conftest import REPO

    text = "白日依山尽，黄河入海流。欲穷千里目，更上一层楼。"
    out = subprocess.run([sys.executable, "-m", "poetgen", "check", "-", "--model", str(tiny_model_dir),
                          "--json"], input=text, capture_output=True, text=True, cwd=REPO, timeout=120)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["form"] == "五绝" and report["ok"] is True and report["rhyme_group"] == "下平聲十一尤"


def test_bad_input_gives_one_line_and_exit_1(tiny_model_dir, tmp_path, capsys):
    from poetgen.app.cli import main

    cases = [
        (("generate", "--model", str(tmp_path / "nowhere")), "model directory not found"),
        (("generate", "--model", str(tiny_model_dir), "--temperature", "nan"), "temperature"),
        (("generate", "--model", str(tiny_model_dir), "--start", "𠀋"), "start text: 𠀋"),
        (("generate", "--model", str(tiny_model_dir), "-n", "0"), "n must be"),
        (("generate", "--model", str(tiny_model_dir), "--id", "pg3_xyz"), "damaged"),
        (("check", "--model", str(tiny_model_dir), "   "), "nothing to check"),
        (("evaluate", "--model", str(tiny_model_dir), "--poems", str(tmp_path / "none.json")), "not found"),
        (("prepare", "--source", str(tmp_path / "nowhere"), "--out", str(tmp_path / "c")), "not found"),
    ]
    for args, message in cases:
        assert main(list(args)) == 1, args
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("poetgen: error:") and message in err[0], err
    # and once as a real process: exit status and nothing but the message on stderr
    missing, warm = start_cli("generate", "--model", str(tmp_path / "nowhere")), start_cli(
        "generate", "--temperature", "warm")
    out = finish(missing)
    assert out.returncode == 1 and out.stderr.strip().splitlines() == [
        f"poetgen: error: model directory not found: {tmp_path / 'nowhere'}"]
    out = finish(warm)
    assert out.returncode == 2 and "not a float: 'warm'" in out.stderr


def test_onednn_is_on_before_tensorflow_loads():
    """The CLI imports TensorFlow early; oneDNN must be switched on before that import, or a
    training run silently loses about a quarter of its speed (it happened: the setting once
    sat in train.py, imported after TensorFlow)."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "0"
    code = "import poetgen.app.cli, tensorflow"
    # the two processes at once: each spends its time importing TensorFlow
    default, chosen = [subprocess.Popen([sys.executable, "-c", code], env=run_env, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)
                       for run_env in (env, {**env, "TF_ENABLE_ONEDNN_OPTS": "0"})]  # the user's own choice wins
    done = finish(default, 120)
    assert done.returncode == 0, done.stderr
    assert "oneDNN custom operations are on" in done.stderr
    done = finish(chosen, 120)
    assert done.returncode == 0, done.stderr
    assert "oneDNN custom operations are on" not in done.stderr


def test_check_needs_no_model_and_no_tensorflow():
    import subprocess
    import sys

    code = ("import sys; from poetgen.app.cli import main; "
            "main(['check', '白日依山尽，黄河入海流。欲穷千里目，更上一层楼。']); "
            "print('tensorflow loaded' if 'tensorflow' in sys.modules else 'no tensorflow')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**__import__("os").environ, "POETGEN_MODEL": "/nonexistent"})
    assert out.returncode == 0, out.stderr[-1000:]
    assert "合律" in out.stdout and out.stdout.strip().endswith("no tensorflow")


def test_check_labels_its_columns_and_shows_where_either_tone_goes():
    """The two columns of 平仄 say which is the poem (本诗) and which the pattern (格律); the
    pattern has 中 where the check lets either tone stand, a ✗ stands under each fault, in the
    column of its character, and a legend says so. --json is the report as it was."""
    from poetgen.verse.check import check_text

    def table(out) -> list[str]:
        assert out.returncode == 0, out.stderr
        lines = out.stdout.splitlines()
        start = next(i for i, line in enumerate(lines) if "本诗" in line)
        header, first = lines[start], lines[start + 1]
        # 格律 heads the pattern's column: each cell is one character wide, full-width
        assert header.lstrip().startswith("本诗") and header.index("格律") == first.rindex(" ") + 1
        assert "中：可平可仄" in lines[-2] and "✗：失律" in lines[-2] and lines[-1].startswith("韵脚")
        return lines[start + 1:-2]

    # 床前明月光 (simplified): the pattern lets the first and third characters go except where
    # 孤平 or 三平尾 would follow; two faults: 月 in line 2 where 平 is wanted, 头 in line 3 where 仄 is.
    libai = "床前明月光，疑是地上霜。举头望明月，低头思故乡。"
    rows = table(cli("check", libai))
    assert rows == ["  平平平仄平   平平中仄平",
                    "  平仄仄仄平   中仄仄平平",
                    "        ✗",
                    "  仄平中平仄   中仄中平仄",
                    "    ✗",
                    "  平平中仄中   平平中仄平"]
    report = check_text(libai)
    assert report.violations == [[1, 3], [2, 1]]
    for row, (line, position) in zip((rows[2], rows[4]), report.violations):
        assert row.index("✗") == rows[2 * line - 1].index(report.tones[line]) + 2 * position  # full-width cells

    # a ci: the 词谱's own 中, and the 下阕 apart
    yan_shu = "一曲新词酒一杯，去年天气旧亭台。夕阳西下几时回？无可奈何花落去，似曾相识燕归来。小园香径独徘徊。"
    rows = table(cli("check", "--cipai", "浣溪沙", yan_shu))
    assert rows[0] == "  仄仄平平仄仄平   中仄平平仄仄平" and rows[3] == "" and len(rows) == 7
    assert "✗" not in "".join(rows)

    out = cli("check", "--json", libai)
    assert out.returncode == 0 and out.stdout == json.dumps(report.to_dict(), ensure_ascii=False, indent=2) + "\n"


def on_a_terminal(*args: str) -> tuple[str, str]:
    """(stdout, what a terminal on standard error shows) of a CLI run."""
    import fcntl
    import os
    import pty
    import struct
    import termios
    import threading

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a real size: tqdm draws
    shown = []

    def read():  # the terminal's side, drained as it is written, until the program's side closes
        while True:
            try:
                data = os.read(leader, 4096)
            except OSError:
                break
            if not data:
                break
            shown.append(data)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    with open(follower, "w", encoding="utf-8") as terminal:
        assert terminal.isatty()
        done = cli(*args, stderr=terminal)
    reader.join(timeout=30)
    os.close(leader)
    assert done.returncode == 0, done.stderr
    return done.stdout, b"".join(shown).decode(errors="replace")


def test_progress_bars_on_a_terminal_only(tiny_model_dir, tiny_corpus, fixture_dataset_all, tmp_path):
    import json

    _, shown = on_a_terminal("prepare", "--source", str(fixture_dataset_all), "--out", str(tmp_path / "c"))
    assert "reading the dataset" in shown and "3/3" in shown

    out, shown = on_a_terminal("generate", "--model", str(tiny_model_dir), "--form", "五绝", "-n", "40",
                               "--seed", "2", "--json")
    assert "writing 40 poems" in shown and "token" in shown
    streamed = json.loads(out)
    done = cli("generate", "--model", str(tiny_model_dir), "--form", "五绝", "-n", "40", "--seed", "2", "--json")
    assert "writing" not in done.stderr  # not a terminal: no bar
    assert [p["text"] for p in json.loads(done.stdout)] == [p["text"] for p in streamed]  # the same poems
    out, shown = on_a_terminal("evaluate", "--model", str(tiny_model_dir), "--split", "valid", "--corpus",
                               str(tiny_corpus))
    assert "scoring" in shown and "all" in out


def test_ci_from_the_command_line(tiny_model_dir):
    listing = cli("cipai")
    assert listing.returncode == 0 and listing.stdout.splitlines()[1].split()[0] == "浣溪沙"
    shown = cli("cipai", "菩萨蛮")
    assert shown.returncode == 0 and "中平中仄平平仄（韵）" in shown.stdout and "正体" in shown.stdout
    done = cli("generate", "--model", str(tiny_model_dir), "--cipai", "浣溪沙", "-n", "2", "--seed", "4", "--json")
    assert done.returncode == 0, done.stderr
    poems = json.loads(done.stdout)
    assert [(p["form"], p["cipai"]) for p in poems] == [("词", "浣溪沙")] * 2
    assert all([len(line) for line in p["lines"]] == [7] * 6 and p["report"]["ok"] for p in poems)
    checked = cli("check", "--cipai", "浣溪沙", "--json", poems[0]["text"])
    assert checked.returncode == 0 and json.loads(checked.stdout)["ok"]
    bad = cli("generate", "--model", str(tiny_model_dir), "--cipai", "浣沙溪")
    assert bad.returncode == 1 and "nearest: 浣溪沙" in bad.stderr and "Traceback" not in bad.stderr
    bad = cli("check", "--cipai", "不存在的调", "春眠不觉晓，处处闻啼鸟。")
    assert bad.returncode == 1 and "unknown 词牌" in bad.stderr
