import csv
import json

import numpy as np
import pytest
from conftest import TINY_MODEL

from poetgen.errors import PoetgenError
from poetgen.model.tokenizer import Tokenizer
from poetgen.training.data import batch_plan, batches_from, encode_corpus
from poetgen.training.export import export
from poetgen.training.loop import TrainConfig, train


def test_tiny_model_trains_and_its_loss_falls(tiny_run):
    run, state = tiny_run
    losses = [h["train_loss"] for h in state.history]
    assert len(losses) == 3
    assert losses[-1] < losses[0] - 0.5
    assert state.history[-1]["val_loss"] < state.history[0]["val_loss"]
    rows = list(csv.DictReader((run / "log.csv").open(encoding="utf-8")))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    assert (run / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert {"best.keras", "checkpoints", "state.json", "config.json", "vocab.json"} <= {
        p.name for p in run.iterdir()}
    assert state.steps == 3 * 15


def test_resume_continues_from_the_last_checkpoint(tiny_corpus, tmp_path):
    cfg = TrainConfig(epochs=1, batch_size=16, steps_per_epoch=5, min_count=2)
    first = train(tiny_corpus, tmp_path / "r", TINY_MODEL, cfg, verbose=0)
    assert first.epoch == 1
    # the same command again continues (nothing left to do); another configuration is refused
    again = train(tiny_corpus, tmp_path / "r", TINY_MODEL, cfg, verbose=0)
    assert again.steps == 5 and len(again.history) == 1
    with pytest.raises(PoetgenError, match="another configuration"):
        train(tiny_corpus, tmp_path / "r", {**TINY_MODEL, "hidden": 48}, cfg, verbose=0)
    resumed = train(tiny_corpus, tmp_path / "r", None, TrainConfig(epochs=2), resume=True, verbose=0)
    assert [h["epoch"] for h in resumed.history] == [1, 2]
    # continuing, not restarting: the loss carries on below the first epoch's
    assert resumed.history[1]["train_loss"] < resumed.history[0]["train_loss"]
    with pytest.raises(PoetgenError, match="nothing to resume"):
        train(tiny_corpus, tmp_path / "empty", None, cfg, resume=True, verbose=0)


def test_long_poems_become_windows_at_couplet_ends():
    tok = Tokenizer.build(["一二三四五六七八九十"], min_count=1)
    text = "一二三四五，六七八九十。" * 5  # 60 characters
    seqs = encode_corpus([{"text": text, "form": "其他"}], tok, max_len=30)
    assert len(seqs) == 3
    assert all(len(s) <= 31 for s in seqs)
    assert all(s[0] == tok.bos and s[1] == tok.form_token("其他") for s in seqs)
    assert [s[-1] == tok.eos for s in seqs] == [False, False, True]
    assert "".join(tok.decode(s) for s in seqs) == text


def test_batches_are_bucketed_and_resume_exactly():
    rng = np.random.default_rng(0)
    seqs = [np.arange(1, n + 1, dtype=np.int32) for n in rng.integers(5, 60, size=100)]
    plan = batch_plan(np.array([len(s) for s in seqs]), 10, np.random.default_rng(1))
    spreads = [np.ptp([len(seqs[i]) for i in b]) for b in plan]
    assert max(spreads) < 15  # similar lengths share a batch
    straight = batches_from(seqs, 10, seed=3, start_step=0, pad=0)
    first = [next(straight) for _ in range(25)]  # 2.5 passes
    resumed = batches_from(seqs, 10, seed=3, start_step=17, pad=0)
    for want in first[17:]:
        got = next(resumed)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])


def test_export_makes_a_self_describing_model_dir(tiny_model_dir, tiny_run):
    names = {p.name for p in tiny_model_dir.iterdir()}
    assert {"config.json", "vocab.json", "model.keras", "metrics.json", "README.md", "loss.png"} <= names
    metrics = json.loads((tiny_model_dir / "metrics.json").read_text(encoding="utf-8"))
    state = tiny_run[1]
    assert metrics["best_epoch"] == state.best_epoch
    assert metrics["val_char_perplexity"] == pytest.approx(state.best_val["char_perplexity"], rel=1e-3)
    assert len(metrics["corpus_sha256"]) == 64 and metrics["train_tokens_per_s"] > 0
    card = (tiny_model_dir / "README.md").read_text(encoding="utf-8")
    assert "poetgen train (test)" in card and f"{metrics['val_char_perplexity']:.1f}" in card
    # optimizer state is not shipped
    import keras

    assert getattr(keras.saving.load_model(tiny_model_dir / "model.keras", safe_mode=True), "optimizer", None) is None


def test_a_float16_export_measures_its_figures_on_the_rounded_weights(tiny_run, tiny_corpus, tmp_path):
    from poetgen.api import Poet
    from poetgen.corpus.splits import load_split
    from poetgen.model.evaluate import split_perplexity

    with pytest.raises(PoetgenError, match="needs the corpus"):
        export(tiny_run[0], tmp_path / "half", half=True)
    metrics = export(tiny_run[0], tmp_path / "half", corpus_dir=tiny_corpus, half=True)
    assert (tmp_path / "half" / "weights.f16.npz").is_file() and not (tmp_path / "half" / "model.keras").exists()
    poet = Poet.load(tmp_path / "half", tiny_corpus)
    report = split_perplexity(poet.model, poet.tokenizer, load_split(tiny_corpus, "valid"))
    assert metrics["weights"] == "float16"
    assert metrics["val_char_perplexity"] == round(report["all"]["char_perplexity"], 3)
    best_epoch = metrics["val_char_perplexity_best_epoch"]
    assert best_epoch == pytest.approx(tiny_run[1].best_val["char_perplexity"], rel=1e-3)
    assert metrics["val_char_perplexity"] == pytest.approx(best_epoch, rel=0.01)
    assert "float16 (weights.f16.npz)" in (tmp_path / "half" / "README.md").read_text(encoding="utf-8")
    poem = poet.write(form="五绝", seed=1)[0]
    assert Poet.load(tmp_path / "half", tiny_corpus).regenerate(poem.id).text == poem.text


def test_the_run_keeps_the_last_epochs_weights_and_export_averages_them(tiny_corpus, tmp_path):
    import keras

    cfg = TrainConfig(epochs=3, batch_size=16, steps_per_epoch=4, min_count=2, keep_epochs=2, learning_rate=1e-2)
    state = train(tiny_corpus, tmp_path / "r", TINY_MODEL, cfg, verbose=0, limit_poems=120)
    kept = tmp_path / "r" / "epochs"
    assert sorted(p.name for p in kept.iterdir()) == ["epoch-2.keras", "epoch-3.keras"]  # epoch 1 dropped
    epoch = {e: keras.saving.load_model(kept / f"epoch-{e}.keras", safe_mode=True).get_weights() for e in (2, 3)}
    best = keras.saving.load_model(tmp_path / "r" / "best.keras", safe_mode=True).get_weights()
    assert all((a == b).all() for a, b in zip(epoch[state.best_epoch], best))  # the end of an epoch, as trained
    assert any((a != b).any() for a, b in zip(epoch[2], epoch[3]))
    assert state.best_epoch == 3  # a fixed seed: the tiny run improves at every epoch
    metrics = export(tmp_path / "r", tmp_path / "avg", corpus_dir=tiny_corpus, average=2)
    from poetgen.model.network import load_model_dir

    model, _, _ = load_model_dir(tmp_path / "avg")
    for got, a, b in zip(model.get_weights(), epoch[2], epoch[3]):
        np.testing.assert_allclose(got, (a.astype(np.float64) + b) / 2, rtol=1e-6, atol=1e-7)
    assert metrics["averaged_epochs"] == [2, 3] and metrics["val_char_perplexity_best_epoch"] == pytest.approx(
        state.best_val["char_perplexity"], rel=1e-3)
    assert metrics["val_char_perplexity"] == pytest.approx(metrics["valid_by_subset"]["all"]["char_perplexity"],
                                                           abs=0.006)
    assert "mean of the weights of epochs 2–3" in (tmp_path / "avg" / "README.md").read_text(encoding="utf-8")
    with pytest.raises(PoetgenError, match="keeps no weights of epoch"):
        export(tmp_path / "r", tmp_path / "avg3", corpus_dir=tiny_corpus, average=3)
    with pytest.raises(PoetgenError, match="needs the corpus"):
        export(tmp_path / "r", tmp_path / "avg2", average=2)


def test_export_without_a_finished_epoch(tmp_path):
    with pytest.raises(PoetgenError, match="best.keras not found"):
        export(tmp_path, tmp_path / "out")


def test_a_run_of_the_older_trainer_is_not_overwritten(tiny_corpus, tmp_path):
    cfg = TrainConfig(epochs=1, batch_size=16, steps_per_epoch=2, min_count=2)
    run = tmp_path / "old"
    train(tiny_corpus, run, TINY_MODEL, cfg, verbose=0, limit_poems=100)
    import shutil

    shutil.rmtree(run / "checkpoints")  # what the fit-based trainer left: last.keras, no checkpoints/
    (run / "last.keras").write_bytes((run / "best.keras").read_bytes())
    before = (run / "best.keras").read_bytes()
    with pytest.raises(PoetgenError, match="older poetgen"):
        train(tiny_corpus, run, TINY_MODEL, cfg, verbose=0, limit_poems=100)
    assert (run / "best.keras").read_bytes() == before


def test_verbose_0_trains_silently(tiny_corpus, tmp_path):
    from conftest import cli

    out = cli("train", "--corpus", str(tiny_corpus), "--run", str(tmp_path / "quiet"), "--epochs", "2",
              "--steps-per-epoch", "2", "--batch-size", "8", "--hidden", "16", "--embed-dim", "8",
              "--proj-dim", "8", "--min-count", "2", "--limit-poems", "100", "--verbose", "0")
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout == ""  # two epochs, no line about them
    assert len(json.loads((tmp_path / "quiet" / "state.json").read_text(encoding="utf-8"))["history"]) == 2


def test_command_line_defaults_are_the_config_defaults():
    import argparse

    from poetgen.app.cli import build_parser
    from poetgen.model.config import ModelConfig, TrainConfig, defaults

    parser = build_parser()
    train_parser = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices["train"]
    args = train_parser.parse_args([])
    for name, value in {**defaults(ModelConfig), **defaults(TrainConfig)}.items():
        assert getattr(args, name) == value, name


def test_the_lstm_path_follows_the_gpu_and_can_be_chosen(monkeypatch):
    from poetgen.training.step import choose_lstm_path

    monkeypatch.delenv("POETGEN_LSTM", raising=False)
    assert choose_lstm_path(gpus=0) == "fused"  # a CPU: poetgen's own gradient
    assert choose_lstm_path(gpus=2) == "keras"  # a GPU: Keras's LSTM, which is cuDNN's there
    assert choose_lstm_path() == "fused"  # this machine has none
    monkeypatch.setenv("POETGEN_LSTM", "keras")
    assert choose_lstm_path(gpus=0) == "keras"
    monkeypatch.setenv("POETGEN_LSTM", "cudnn")
    with pytest.raises(PoetgenError, match="POETGEN_LSTM must be one of fused, keras"):
        choose_lstm_path()


def test_both_lstm_paths_take_the_same_step():
    import keras
    import tensorflow as tf

    from poetgen.model.config import ModelConfig
    from poetgen.model.network import build_model
    from poetgen.training.step import make_train_step

    config = ModelConfig(vocab_size=40, **{**TINY_MODEL, "dropout": 0.0})
    rng = np.random.default_rng(0)
    inputs = tf.constant(rng.integers(1, 40, (4, 12)), tf.int32)
    targets = tf.constant(rng.integers(1, 40, (4, 12)), tf.int32)
    results = []
    for path in ("fused", "keras"):
        keras.utils.set_random_seed(1)
        model = build_model(config)
        optimizer = keras.optimizers.Adam(1e-2)
        optimizer.build(model.trainable_variables)
        loss = make_train_step(model, optimizer, lstm=path)(inputs, targets, tf.constant(48.0))
        results.append((float(loss), [w.copy() for w in model.get_weights()]))
    (loss_a, weights_a), (loss_b, weights_b) = results
    assert loss_a == pytest.approx(loss_b, rel=1e-5)
    for a, b in zip(weights_a, weights_b):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_a_run_reports_its_lstm_path(tiny_corpus, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("POETGEN_LSTM", "keras")
    state = train(tiny_corpus, tmp_path / "run", TINY_MODEL,
                  TrainConfig(epochs=1, batch_size=16, steps_per_epoch=3, min_count=2), verbose=2)
    assert state.lstm_path == "keras" and "LSTM gradient: Keras's own LSTM layers" in capsys.readouterr().out
    assert export(tmp_path / "run", tmp_path / "model")["lstm_path"] == "keras"


def test_the_learning_rate_schedule_can_be_set_on_a_running_run(tiny_corpus, tmp_path):
    import json

    from poetgen.training.run import scheduled_halving

    cfg = TrainConfig(lr_halve_from=3, lr_halve_every=2)
    assert [e for e in range(1, 10) if scheduled_halving(cfg, e)] == [3, 5, 7, 9]
    assert not any(scheduled_halving(TrainConfig(), e) for e in range(1, 10))  # off by default
    run = tmp_path / "run"
    base = dict(batch_size=16, steps_per_epoch=3, min_count=2, learning_rate=1e-2)
    train(tiny_corpus, run, TINY_MODEL, TrainConfig(epochs=1, **base), verbose=0)
    # a later session adds a schedule to the same run: accepted, recorded, applied
    state = train(tiny_corpus, run, TINY_MODEL, TrainConfig(epochs=3, lr_halve_from=2, lr_halve_every=1, **base),
                  verbose=0)
    assert json.loads((run / "config.json").read_text(encoding="utf-8"))["train"]["lr_halve_every"] == 1
    rates = [row["learning_rate"] for row in state.history]
    # each row logs the rate the epoch trained with: halved after epoch 2, which improved (so
    # no plateau halved it: the schedule did)
    assert state.history[1]["val_loss"] < state.history[0]["val_loss"]
    assert rates[0] == rates[1] == pytest.approx(1e-2) and rates[2] == pytest.approx(5e-3)


def test_the_log_of_a_run_continued_by_a_newer_poetgen_keeps_every_column(tmp_path):
    import csv

    from poetgen.training.run import RunState, write_run_files

    row = {"epoch": 1, "val_loss": 5.0, "epoch_seconds": 1.0, "train_hours": 0.1, "train_loss": 5.1,
           "val_char_ppl": 600.0, "learning_rate": 0.002, "tokens_per_s": 100.0, "val_token_ppl": 150.0}
    state = RunState(history=[row, {**row, "epoch": 2, "train_hours": 0.2, "ci_ppl": 450.0}])
    write_run_files(tmp_path, None, state, improved=False)
    rows = list(csv.DictReader((tmp_path / "log.csv").open(encoding="utf-8")))
    assert rows[0]["ci_ppl"] == "" and rows[1]["ci_ppl"] == "450.0"


def test_a_run_can_start_from_an_exported_model(tiny_model_dir, tiny_run, tiny_corpus, tmp_path):
    """`--init`: a new run takes the model directory's vocabulary, configuration and weights (the
    model options given are not used), so a model whose run is gone trains on. At a learning rate
    of almost nothing it stays the model it started from: the same validation figure. The same
    command continues it, even cut short before its first checkpoint."""
    from poetgen.model.network import load_model_dir
    from poetgen.training.run import open_run

    _, config, tokenizer = load_model_dir(tiny_model_dir)
    exported = json.loads((tiny_model_dir / "metrics.json").read_text(encoding="utf-8"))["val_char_perplexity"]
    cfg = TrainConfig(epochs=1, steps_per_epoch=2, batch_size=16, learning_rate=1e-12, min_count=2)
    other = {**TINY_MODEL, "hidden": 24}
    cut = tmp_path / "cut"  # made, then killed before its first checkpoint: only its files are there
    open_run(tiny_corpus, cut, other, cfg, resume=False, chief=True, init=tiny_model_dir)
    for run in (tmp_path / "again", cut):
        state = train(tiny_corpus, run, other, cfg, verbose=0, init=tiny_model_dir)
        saved = json.loads((run / "config.json").read_text(encoding="utf-8"))
        assert saved["model"]["hidden"] == config.hidden != 24 and saved["init"] == str(tiny_model_dir.resolve())
        assert Tokenizer.load(run / "vocab.json").tokens == tokenizer.tokens
        assert state.best_val["char_perplexity"] == pytest.approx(exported, rel=1e-3)  # from fresh weights: 1,871
    cfg.epochs = 2  # the same command, a session later, goes on
    assert train(tiny_corpus, cut, other, cfg, verbose=0, init=tiny_model_dir).epoch == 2
    export(cut, tmp_path / "exported")  # its card says where it began, not only its command line
    metrics = json.loads((tmp_path / "exported" / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["init"] == {"model": tiny_model_dir.name, "val_char_perplexity": exported}
    card = (tmp_path / "exported" / "README.md").read_text(encoding="utf-8")
    assert (f"Started from the weights of the model `{tiny_model_dir.name}` "
            f"(validation character perplexity {exported:.1f})") in card
    with pytest.raises(PoetgenError, match="was started from"):  # another model is not slipped in
        train(tiny_corpus, cut, other, cfg, verbose=0, init=tmp_path / "again")
    for bad, message in ((tmp_path / "nowhere", "not found"), (tiny_run[0], "incomplete|not found")):
        with pytest.raises(PoetgenError, match=message):
            train(tiny_corpus, tmp_path / "nothing", None, cfg, verbose=0, init=bad)
        assert not (tmp_path / "nothing").exists()  # refused before the run was made
