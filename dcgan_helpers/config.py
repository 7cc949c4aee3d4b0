"""The settings of a training run: defaults from the model's source, checks, and run.json."""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field

from .errors import ConfigError
from .models import get_spec
from .objective import OPTION_NAMES, GANObjective

# Settings that fix the shapes of the saved weights: a resumed run must keep them.
ARCHITECTURE_FIELDS = ("model", "latent_dim", "image_shape")


@dataclass
class TrainConfig:
    """Everything that determines a run. `None` means "the model's published value"."""

    model: str = "tutorial"
    dataset: str = "digits"
    data_dir: str | None = None
    limit: int | None = None
    epochs: int | None = None
    batch_size: int | None = None
    lr_g: float | None = None
    lr_d: float | None = None
    beta1: float | None = None
    beta2: float = 0.999
    latent_dim: int | None = None
    image_shape: tuple[int, int, int] | None = None
    seed: int | None = None
    checkpoint_every: int | None = None
    num_examples: int = 16
    max_minutes: float | None = None
    eval_every: int = 0
    mixed_precision: bool = False
    # What the update optimizes (objective.GANObjective); None: the default, today's update.
    loss: str | None = None
    gradient_penalty: float | None = None
    critic_steps: int | None = None
    r1: float | None = None
    spectral_norm: bool | None = None
    label_smoothing: float | None = None
    extra: dict = field(default_factory=dict)

    @property
    def objective(self) -> GANObjective:
        """The update's loss, penalties and critic steps (options not given at their defaults)."""
        return GANObjective.from_options(**{name: getattr(self, name) for name in OPTION_NAMES})

    def resolved(self) -> "TrainConfig":
        """A copy with every `None` replaced by the model's published value, checked."""
        spec = get_spec(self.model)
        c = dataclasses.replace(self)
        for name, default in (("epochs", spec.epochs), ("batch_size", spec.batch_size),
                              ("lr_g", spec.lr_g), ("lr_d", spec.lr_d), ("beta1", spec.beta1),
                              ("latent_dim", spec.latent_dim),
                              ("checkpoint_every", spec.checkpoint_every)):
            if getattr(c, name) is None:
                setattr(c, name, default)
        if c.image_shape is None:
            c.image_shape = tuple(spec.image_shape)
        c.image_shape = tuple(int(v) for v in c.image_shape)
        if c.seed is None:
            c.seed = int.from_bytes(os.urandom(4), "little") % (2**31)
        c.validate()
        objective = c.objective  # checks the options and their combination
        objective.check_model(spec.from_logits, c.model)
        for name in OPTION_NAMES:
            setattr(c, name, getattr(objective, name))
        return c

    def validate(self) -> None:
        checks = [
            (self.epochs is not None and self.epochs < 0, f"--epochs must be 0 or more, got {self.epochs}"),
            (self.batch_size is not None and self.batch_size < 1, f"--batch-size must be at least 1, got {self.batch_size}"),
            (self.limit is not None and self.limit < 1, f"--limit must be at least 1, got {self.limit}"),
            (self.lr_g is not None and not self.lr_g > 0, f"--lr-g must be positive, got {self.lr_g}"),
            (self.lr_d is not None and not self.lr_d > 0, f"--lr-d must be positive, got {self.lr_d}"),
            (self.beta1 is not None and not 0 <= self.beta1 < 1, f"--beta1 must be in [0, 1), got {self.beta1}"),
            (self.latent_dim is not None and self.latent_dim < 1, f"--latent-dim must be at least 1, got {self.latent_dim}"),
            (self.checkpoint_every is not None and self.checkpoint_every < 1, f"--checkpoint-every must be at least 1, got {self.checkpoint_every}"),
            (self.num_examples < 1, f"--num-examples must be at least 1, got {self.num_examples}"),
            (self.max_minutes is not None and not self.max_minutes > 0, f"--max-minutes must be positive, got {self.max_minutes}"),
            (self.eval_every < 0, f"--eval-every must be 0 (off) or more, got {self.eval_every}"),
        ]
        for bad, message in checks:
            if bad:
                raise ConfigError(message)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json_file(cls, path: str) -> "TrainConfig":
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except (OSError, ValueError) as e:
            raise ConfigError(f"{path}: cannot read the run's settings ({e})") from e
        known = {f.name for f in dataclasses.fields(cls)}
        c = cls(**{k: v for k, v in data.items() if k in known})
        if c.image_shape is not None:
            c.image_shape = tuple(c.image_shape)
        return c


def check_same_architecture(saved: TrainConfig, wanted: TrainConfig, where: str) -> None:
    """Refuse to continue a run with settings that change the shapes of its weights."""
    for name in ARCHITECTURE_FIELDS:
        a, b = _plain(getattr(saved, name)), _plain(getattr(wanted, name))
        if b is not None and a != b:
            raise ConfigError(
                f"{where} holds a run with {name}={a!r} but {name}={b!r} was asked for; "
                f"resume with the same {name} or choose another --out"
            )


def check_same_objective(saved: TrainConfig, wanted: TrainConfig, where: str) -> None:
    """Refuse to continue a run with a loss, penalty or critic steps other than its own
    (an option not given keeps the run's; a run.json from before these options is
    the non-saturating update)."""
    kept = saved.objective
    for name in OPTION_NAMES:
        a, b = getattr(kept, name), getattr(wanted, name)
        if b is not None and a != b:
            raise ConfigError(
                f"{where} holds a run trained with {name}={a!r} but {name}={b!r} was asked for; "
                f"resume without that option (the run keeps its own) or choose another --out")


def _plain(value):
    return tuple(value) if isinstance(value, list) else value
