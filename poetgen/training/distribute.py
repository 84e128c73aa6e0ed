"""Several devices or machines: the tf.distribute strategy, who is the chief, how a
global batch is cut per replica, and agreeing on a flag."""

from __future__ import annotations

import json
import os

import numpy as np
import tensorflow as tf

from ..errors import PoetgenError
from ..model.config import STRATEGIES
from .data import PAD_ID

# ---------------------------------------------------------------------------- distribution


def make_strategy(name: str = "default", cpu_devices: int = 0) -> tf.distribute.Strategy:
    """The tf.distribute strategy to train under. `cpu_devices` splits the CPU into that many
    logical devices (to try `mirrored` without GPUs); it must run before TensorFlow starts."""
    if name not in STRATEGIES:
        raise PoetgenError(f"unknown strategy {name!r}: choose one of {', '.join(STRATEGIES)}")
    if cpu_devices > 1:
        cpu = tf.config.list_physical_devices("CPU")[0]
        try:
            tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * cpu_devices)
        except RuntimeError:
            raise PoetgenError("--cpu-devices must be set before TensorFlow starts (use a new process)") from None
    if name == "mirrored":
        devices = [d.name for d in tf.config.list_logical_devices("GPU")] or [
            d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices)
    if name == "multiworker":
        if not os.environ.get("TF_CONFIG"):
            raise PoetgenError("--strategy multiworker needs TF_CONFIG describing the cluster (see the README)")
        try:
            config = json.loads(os.environ["TF_CONFIG"])
            config["cluster"], config["task"]["type"], config["task"]["index"]
        except (ValueError, KeyError, TypeError):
            raise PoetgenError("TF_CONFIG is not valid: it needs 'cluster' and 'task' {type, index}") from None
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


def worker_role(strategy: tf.distribute.Strategy) -> tuple[bool, int]:
    """(is this the chief, worker index). Only the chief writes checkpoints, logs and models."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True, 0
    kind, index = resolver.task_type, resolver.task_id or 0
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return kind == "chief" or (kind == "worker" and index == 0 and not has_chief), index


def split_rows(batch: np.ndarray, replicas: int) -> list[np.ndarray]:
    """A global batch cut into one slice per replica; too few rows are topped up with padding
    rows, which carry no loss."""
    if len(batch) < replicas:
        filler = np.full((replicas - len(batch), batch.shape[1]), PAD_ID, batch.dtype)
        batch = np.concatenate([batch, filler])
    return np.array_split(batch, replicas)


def agree(strategy: tf.distribute.Strategy, flag: bool) -> bool:
    """True on every worker if it is true on any: workers must stop together or hang."""
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return flag
    votes = strategy.run(lambda: tf.constant(1.0 if flag else 0.0))
    return bool(strategy.reduce(tf.distribute.ReduceOp.SUM, votes, axis=None).numpy() > 0)
