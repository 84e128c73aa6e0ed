"""Scale-out with tf.distribute and exact, fault-tolerant resume. Every training run here is a
real subprocess of `poetgen train` on a tiny model, bounded by a timeout, loopback only."""

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, TINY_MODEL, cli, finish

TINY_FLAGS = ["--embed-dim", "16", "--hidden", "32", "--proj-dim", "16", "--min-count", "2",
              "--lr", "0.01", "--limit-poems", "200", "--verbose", "2"]


def train_command(corpus: Path, run: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "poetgen", "train", "--corpus", str(corpus), "--run", str(run),
            *TINY_FLAGS, *extra]


def train_here(corpus: Path, run: Path, dropout: float, **cfg):
    """The training `train_command(corpus, run, ...)` runs with these settings, in this process
    (no TensorFlow import of its own): the uninterrupted or single-worker run a test compares a
    command's runs with. The same code from the same settings: the same batches and weights."""
    from poetgen.training.loop import TrainConfig, train

    return train(corpus, run, {**TINY_MODEL, "dropout": dropout},
                 TrainConfig(min_count=2, learning_rate=0.01, **cfg), verbose=0, limit_poems=200)


def run_train(cmd: list[str], timeout: float = 240, env: dict | None = None) -> subprocess.CompletedProcess:
    return finish(start_train(cmd, env), timeout)


def start_train(cmd: list[str], env: dict | None = None) -> subprocess.Popen:
    """The training process started (finish waits for it): several can import TensorFlow at once."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, env=env)


def latest_step(run: Path) -> int:
    index = run / "checkpoints" / "checkpoint"
    if not index.is_file():
        return -1
    for line in index.read_text().splitlines():
        if line.startswith("model_checkpoint_path:"):
            return int(line.split("ckpt-")[-1].strip('"'))
    return -1


def checkpoint_values(run: Path) -> tuple[int, dict[str, np.ndarray]]:
    """Step and every numeric variable of the newest checkpoint (save counts and timings aside)."""
    import tensorflow as tf

    path = tf.train.latest_checkpoint(str(run / "checkpoints"))
    reader = tf.train.load_checkpoint(path)
    values = {k: reader.get_tensor(k) for k in reader.get_variable_to_shape_map()
              if k.endswith("VARIABLE_VALUE") and not k.startswith(("save_counter", "state/", "fingerprint/"))}
    return int(values.pop("step/.ATTRIBUTES/VARIABLE_VALUE")), values


def assert_same_weights(a: dict, b: dict, atol: float = 1e-5) -> None:
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_allclose(a[key], b[key], atol=atol, err_msg=key)


def history(run: Path) -> list[dict]:
    return json.loads((run / "state.json").read_text(encoding="utf-8"))["history"]


def digest(out: str) -> str:
    return out.strip().splitlines()[-1].split("weights sha256 ")[1]


def half_written(run: Path) -> bool:
    """A checkpoint write under way (or cut short): TensorFlow's temporary, or files of a step
    that the index of checkpoints does not name yet."""
    newest = latest_step(run)
    try:
        names = os.listdir(run / "checkpoints")
    except FileNotFoundError:
        return False
    return any("_temp" in n or (n.startswith("ckpt-") and int(n[5:].split(".")[0].split("_")[0]) > newest)
               for n in names)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_mirrored_over_two_logical_cpus_trains(tiny_corpus, tmp_path):
    run = tmp_path / "mirrored"
    done = run_train(train_command(tiny_corpus, run, "--strategy", "mirrored", "--cpu-devices", "2",
                                   "--batch-size", "8", "--epochs", "2", "--steps-per-epoch", "12"))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "MirroredStrategy over 2 replica(s): global batch 16" in done.stdout
    losses = [h["train_loss"] for h in history(run)]
    assert len(losses) == 2 and losses[1] < losses[0] - 0.3


def test_two_workers_agree_with_each_other_and_with_one_worker(tiny_corpus, tmp_path):
    ports = [free_port(), free_port()]
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    run = tmp_path / "workers"
    cmd = train_command(tiny_corpus, run, "--strategy", "multiworker", "--batch-size", "8",
                        "--epochs", "2", "--steps-per-epoch", "5", "--dropout", "0")
    single = tmp_path / "single"
    workers = [start_train(cmd, env={"TF_CONFIG": json.dumps({"cluster": cluster,
                                                              "task": {"type": "worker", "index": i}})})
               for i in range(2)]
    try:
        # the one-worker run here while the two workers import TensorFlow
        train_here(tiny_corpus, single, dropout=0.0, batch_size=16, epochs=2, steps_per_epoch=5)
        outputs = [w.communicate(timeout=300) for w in workers]
    finally:
        for w in workers:
            w.kill()
    for w, (_out, err) in zip(workers, outputs):
        assert w.returncode == 0, err[-2000:]
    assert "over 2 replica(s): global batch 16" in outputs[0][0]
    assert digest(outputs[0][0]) == digest(outputs[1][0])  # identical weights on both workers
    assert not any(p.name.startswith(".worker-") for p in run.iterdir())  # only the chief wrote

    # Same global batch, same data order: the same losses, up to the order of float sums.
    for a, b in zip(history(run), history(single), strict=True):
        assert a["train_loss"] == pytest.approx(b["train_loss"], abs=2e-3)
        assert a["val_loss"] == pytest.approx(b["val_loss"], abs=2e-3)
    assert_same_weights(checkpoint_values(run)[1], checkpoint_values(single)[1], atol=2e-3)


def test_kill_9_then_the_same_command_continues_exactly(tiny_corpus, tmp_path):
    """Killed at random moments, some of them inside a checkpoint write, the run ends with the
    same steps and weights as one never interrupted. Dropout is on, so its RNG state counts."""
    flags = ["--batch-size", "16", "--epochs", "2", "--steps-per-epoch", "10", "--dropout", "0.2",
             "--checkpoint-every", "1"]
    run = tmp_path / "killed"
    cmd = train_command(tiny_corpus, run, *flags)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    rng = random.Random(7)
    kills, mid_write = 0, 0
    while kills < 8 and (kills < 2 or not mid_write):
        before = latest_step(run)
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO, env=env)
        deadline = time.monotonic() + 120
        while latest_step(run) < before + 2 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        if kills % 2:  # at a random moment
            time.sleep(rng.uniform(0, 0.05))
        else:  # as soon as a checkpoint write is seen in progress (a write takes tens of milliseconds)
            deadline = time.monotonic() + 10
            while not half_written(run) and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.0005)
        if proc.poll() is not None:
            break  # finished before we could kill it
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        kills += 1
        mid_write += half_written(run)
    assert kills >= 2
    resumed = start_train(cmd)
    straight = tmp_path / "straight"  # never interrupted: here, while the same command resumes
    train_here(tiny_corpus, straight, dropout=0.2, batch_size=16, epochs=2, steps_per_epoch=10, checkpoint_every=1)
    done = finish(resumed)
    assert done.returncode == 0, done.stderr[-2000:]
    step, values = checkpoint_values(run)
    want_step, want = checkpoint_values(straight)
    assert step == want_step == 20
    assert_same_weights(values, want)
    assert [h["epoch"] for h in history(run)] == [1, 2]
    assert len(list((run / "checkpoints").glob("ckpt-*.index"))) == 3  # the last 3 are kept
    assert [h["val_loss"] for h in history(run)] == pytest.approx([h["val_loss"] for h in history(straight)],
                                                                   abs=1e-5)
    assert mid_write, "no kill landed inside a checkpoint write"


def test_sigterm_saves_a_checkpoint_before_exiting(tiny_corpus, tmp_path):
    run = tmp_path / "term"
    cmd = train_command(tiny_corpus, run, "--batch-size", "16", "--epochs", "50", "--steps-per-epoch", "20",
                        "--checkpoint-every", "1000")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    deadline = time.monotonic() + 120
    while not (run / "state.json").is_file() and time.monotonic() < deadline:  # an epoch is done
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert "stopped by SIGTERM at step" in err and "Traceback" not in err
    stopped_at = int(err.split("at step ")[1].split(":")[0])
    assert stopped_at > 20 and stopped_at % 20 != 0  # mid-epoch: saved by the signal, not the epoch end
    assert latest_step(run) == stopped_at


def test_a_damaged_latest_checkpoint_falls_back_to_the_previous(tiny_corpus, tmp_path, capsys):
    from poetgen.training.loop import TrainConfig, train

    cfg = TrainConfig(epochs=1, batch_size=16, steps_per_epoch=12, min_count=2, checkpoint_every=5)
    train(tiny_corpus, tmp_path / "r", TINY_MODEL, cfg, verbose=0, limit_poems=200)
    assert latest_step(tmp_path / "r") == 12
    data = next((tmp_path / "r" / "checkpoints").glob("ckpt-12.data-*"))
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    cfg.epochs = 2
    state = train(tiny_corpus, tmp_path / "r", TINY_MODEL, cfg, verbose=0, limit_poems=200)
    err = capsys.readouterr().err
    assert "ckpt-12" in err and "trying the previous one" in err
    assert state.steps == 24 and [h["epoch"] for h in state.history] == [1, 2]


def test_a_checkpoint_of_another_model_is_refused(tiny_corpus, tmp_path):
    from poetgen.training.checkpoints import CheckpointError
    from poetgen.training.loop import TrainConfig, train

    cfg = TrainConfig(epochs=1, batch_size=16, steps_per_epoch=3, min_count=2)
    train(tiny_corpus, tmp_path / "a", TINY_MODEL, cfg, verbose=0, limit_poems=200)
    train(tiny_corpus, tmp_path / "b", {**TINY_MODEL, "hidden": 24}, cfg, verbose=0, limit_poems=200)
    shutil.rmtree(tmp_path / "b" / "checkpoints")
    shutil.copytree(tmp_path / "a" / "checkpoints", tmp_path / "b" / "checkpoints")
    with pytest.raises(CheckpointError, match="different model or vocabulary"):
        train(tiny_corpus, tmp_path / "b", None, TrainConfig(epochs=2), resume=True, verbose=0, limit_poems=200)


def test_bad_strategy_requests_are_clear(tiny_corpus, tmp_path, monkeypatch):
    # refused before any strategy is made: the command line's main, in this process
    command = train_command(tiny_corpus, tmp_path / "x", "--strategy", "multiworker")[3:]
    monkeypatch.setenv("TF_CONFIG", "")
    done = cli(*command)
    assert done.returncode == 1 and "needs TF_CONFIG" in done.stderr and "Traceback" not in done.stderr
    monkeypatch.setenv("TF_CONFIG", "{not json")
    done = cli(*command)
    assert done.returncode == 1 and "TF_CONFIG is not valid" in done.stderr
