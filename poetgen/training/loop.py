"""Training: bucketed batches, Adam with clipping, a custom loop under any tf.distribute
strategy (one device, mirrored devices, several workers), exact validation perplexity each
epoch, checkpoints that a killed run resumes from exactly, and export to a model directory."""

from __future__ import annotations

import hashlib
import math
import sys
import time
from pathlib import Path

import numpy as np
import tensorflow as tf

from ..errors import PoetgenError
from ..model.config import TrainConfig
from ..model.evaluate import subsets
from ..model.network import build_model, keras
from .checkpoints import Checkpoints, fingerprint
from .data import batches_from, encode_corpus
from .distribute import agree, split_rows, worker_role
from .run import Run, RunState, end_epoch, open_run, restore_or_start, write_run_files
from .step import LSTM_PATHS, choose_lstm_path, make_train_step


class StopSignals:
    """SIGINT and SIGTERM ask the loop to stop after the current step and save a checkpoint."""

    def __init__(self):
        self.received: str | None = None
        self._previous = {}

    def __enter__(self):
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._note)
        return self

    def _note(self, signum, frame):
        import signal

        self.received = signal.Signals(signum).name

    def __exit__(self, *exc):
        import signal

        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


class TrainingInterrupted(PoetgenError):
    """Training stopped on a signal after saving a checkpoint."""


class Trainer:
    """The loop of one training: optimizer steps over prefetched batches, checkpoints every
    few steps, validation and run files at each epoch's end, stops on a signal or a time limit."""

    def __init__(self, run: Run, strategy, verbose: int, chief: bool, worker: int):
        self.run, self.strategy, self.verbose, self.chief = run, strategy, verbose if chief else 0, chief
        cfg = run.cfg
        keras.utils.set_random_seed(cfg.seed)
        with strategy.scope():
            self.model = build_model(run.model_config)
            self.optimizer = keras.optimizers.Adam(cfg.learning_rate, clipnorm=cfg.clipnorm)
            self.optimizer.build(self.model.trainable_variables)
        self.checkpoints = Checkpoints(run.directory, self.model, self.optimizer,
                                       fingerprint(run.model_config, run.tokenizer), cfg.keep_checkpoints,
                                       chief, worker)
        self.replicas = strategy.num_replicas_in_sync
        self.lstm_path = choose_lstm_path()
        self.train_step = make_train_step(self.model, self.optimizer, strategy, self.lstm_path)

    def batches(self, step: int):
        """Batches from `step` on, prepared ahead in tf.data's own thread; where they start is the
        step, so the prefetched batches a kill throws away are made again, identically, on restart."""
        run, tok = self.run, self.run.tokenizer
        seqs = encode_corpus(run.train_rows, tok, run.cfg.max_len, run.model_config.reverse)
        self.steps_per_epoch = run.cfg.steps_per_epoch or math.ceil(len(seqs) / (run.cfg.batch_size * self.replicas))
        return iter(tf.data.Dataset.from_generator(
            lambda: batches_from(seqs, run.cfg.batch_size * self.replicas, run.cfg.seed, step, tok.pad),
            output_signature=(tf.TensorSpec((None, None), tf.int32), tf.TensorSpec((None, None), tf.int32)),
        ).prefetch(4))

    def distribute(self, array: np.ndarray):
        parts = split_rows(array, self.replicas)
        return self.strategy.experimental_distribute_values_from_function(
            lambda ctx: tf.constant(parts[ctx.replica_id_in_sync_group]))

    def one_step(self, batches, state: RunState) -> float:
        inputs, targets = (t.numpy() for t in next(batches))
        tick = time.time()
        tokens = int(np.count_nonzero(targets != self.run.tokenizer.pad))
        loss = float(self.train_step(self.distribute(inputs), self.distribute(targets),
                                     tf.constant(float(max(tokens, 1)))))
        state.add_step(time.time() - tick, tokens, loss)
        return loss

    def epoch(self, step: int, state: RunState, batches, signals: StopSignals) -> int:
        """The rest of the current epoch from `step`; returns the step it ends at."""
        position = step - state.epoch * self.steps_per_epoch
        every = self.run.cfg.checkpoint_every or self.steps_per_epoch
        bar = keras.utils.Progbar(self.steps_per_epoch, verbose=1) if self.verbose == 1 else None
        while position < self.steps_per_epoch:
            loss = self.one_step(batches, state)
            step, position = step + 1, position + 1
            if bar:
                bar.update(position, [("loss", loss)])
            if position < self.steps_per_epoch and step % every == 0:
                self.checkpoints.save(step, state)
            if agree(self.strategy, signals.received is not None):
                self.checkpoints.save(step, state)
                raise TrainingInterrupted(f"training stopped by {signals.received or 'another worker'} "
                                          f"at step {step}: checkpoint saved; run the same command again to continue")
        return step

    def finish_epoch(self, step: int, state: RunState, valid: tuple[list, dict], started: float) -> bool:
        """Validation, early stopping, run files and a checkpoint; True when out of time."""
        cfg = self.run.cfg
        row, improved = end_epoch(self.model, state, valid, self.run.tokenizer, self.optimizer, cfg)
        if state.wait >= cfg.patience:
            if self.verbose:
                print(f"early stop: no improvement for {state.wait} epochs", flush=True)
            state.stopped = "early stop"
        out_of_time = bool(cfg.max_minutes) and agree(self.strategy, time.time() - started > cfg.max_minutes * 60)
        # Run files first: a kill before the checkpoint below only repeats this epoch's end.
        if self.chief:
            write_run_files(self.run.directory, self.model, state, improved, cfg.keep_epochs)
        if self.verbose:
            print(f"epoch {row['epoch']}: step {step} loss {row['train_loss']:.4f} "
                  f"val_loss {row['val_loss']:.4f} val char ppl {row['val_char_ppl']:.1f} "
                  f"({row['tokens_per_s']:.0f} tokens/s)" + (" *best*" if improved else ""), flush=True)
        self.checkpoints.save(step, state)
        if out_of_time and self.verbose:
            print(f"time budget of {cfg.max_minutes} minutes used: stopping (the same command continues)", flush=True)
        return out_of_time


def train(corpus_dir: str | Path, run_dir: str | Path, model_cfg: dict | None = None,
          train_cfg: TrainConfig | None = None, resume: bool = False, verbose: int | None = None,
          limit_poems: int = 0, strategy: tf.distribute.Strategy | None = None,
          init: str | Path | None = None) -> RunState:
    """Train in `run_dir`, or continue the run there from its newest checkpoint when it holds
    one of the same configuration (the same command continues; resume=True insists on it).
    A new run with `init` (a model directory) starts from that model's weights, vocabulary and
    configuration: a model whose run directory is gone trains on. Returns the run state."""
    strategy = strategy or tf.distribute.get_strategy()
    chief, worker = worker_role(strategy)
    run = open_run(corpus_dir, Path(run_dir), model_cfg, train_cfg or TrainConfig(), resume, chief, limit_poems,
                   Path(init) if init else None)
    if verbose is None:
        verbose = 1 if sys.stdout.isatty() else 2
    trainer = Trainer(run, strategy, verbose, chief, worker)
    step, state = restore_or_start(run, trainer.checkpoints, resume, corpus_dir)
    if run.init_weights is not None:  # saved at once: a restart needs the model directory no more
        trainer.model.set_weights(run.init_weights)
        trainer.checkpoints.save(step, state)
    state.lstm_path = trainer.lstm_path
    batches = trainer.batches(step)
    valid_seqs = [np.asarray(run.tokenizer.encode(r["text"], opening=run.tokenizer.row_opening(r),
                                                  reverse=run.model_config.reverse), np.int32)
                  for r in run.valid_rows]
    valid = (valid_seqs, subsets(run.valid_rows))
    if trainer.verbose:
        print(f"{type(strategy).__name__} over {trainer.replicas} replica(s): global batch "
              f"{run.cfg.batch_size * trainer.replicas}, {trainer.steps_per_epoch} steps per epoch, "
              f"starting at step {step}; LSTM gradient: {LSTM_PATHS[trainer.lstm_path]}", flush=True)
    started = time.time()
    with StopSignals() as signals:
        while state.epoch < run.cfg.epochs and not state.stopped:
            step = trainer.epoch(step, state, batches, signals)
            if trainer.finish_epoch(step, state, valid, started):
                break
    state.steps = step
    state.weights_sha256 = weights_digest(trainer.model)
    return state


def weights_digest(model) -> str:
    """Identifies trained weights: workers of one run must agree on it bit for bit."""
    digest = hashlib.sha256()
    for array in model.get_weights():
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()
