"""The model's and the training's configuration, declared once: the model directory, the run
directory and the command line's defaults all come from here (no TensorFlow needed to read them).
The training defaults are the recipe of the shipped model."""

from __future__ import annotations

from dataclasses import MISSING, dataclass, fields

from ..errors import ModelError

DIRECTIONS = ("forward", "backward")
STRATEGIES = ("default", "mirrored", "multiworker")  # tf.distribute set-ups of training (training/distribute.py)


@dataclass
class ModelConfig:
    vocab_size: int
    embed_dim: int = 256
    hidden: int = 512
    layers: int = 1
    # A linear bottleneck before the softmax: the vocabulary-sized output layer dominates the
    # cost, and hidden->proj->vocab is several times cheaper than hidden->vocab.
    proj_dim: int = 256
    dropout: float = 0.1
    # "backward" reads each poem from its last character to its first, after the same opening
    # tokens: it scores how well the later lines explain the earlier ones (the search's rerank).
    direction: str = "forward"

    def __post_init__(self):
        if self.direction not in DIRECTIONS:
            raise ModelError(f"direction must be one of {', '.join(DIRECTIONS)}, not {self.direction!r}")

    @property
    def reverse(self) -> bool:
        return self.direction == "backward"

    @classmethod
    def from_dict(cls, data: dict) -> ModelConfig:
        names = {f.name for f in fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ModelError(f"unknown model config keys: {sorted(unknown)}")
        return cls(**data)


@dataclass
class TrainConfig:
    batch_size: int = 128
    learning_rate: float = 2e-3
    clipnorm: float = 1.0
    epochs: int = 200
    steps_per_epoch: int = 800  # 0: one full pass over the training data
    patience: int = 4  # epochs without improvement before stopping
    max_len: int = 160  # longer poems are cut into windows at couplet ends
    min_count: int = 8  # rarer characters become <unk> (0.06% of the corpus)
    seed: int = 1
    max_minutes: float = 0.0  # stop cleanly after this much training time (0: no limit)
    checkpoint_every: int = 50  # steps between checkpoints (0: at epoch ends only)
    keep_checkpoints: int = 3
    # A schedule on top of halving on a plateau: halve the learning rate at the end of epoch
    # lr_halve_from and every lr_halve_every epochs after it (0: off). Like epochs and
    # max_minutes, these may change between sessions of one run.
    lr_halve_from: int = 0
    lr_halve_every: int = 0
    keep_epochs: int = 3  # the weights of the last epochs, kept for `poetgen export --average`


def defaults(cls) -> dict:
    """Each field's default, for the command line."""
    return {f.name: f.default for f in fields(cls) if f.default is not MISSING}
