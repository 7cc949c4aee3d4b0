"""What the GAN update optimizes: its loss, D's penalties and constraint, and how often D steps.

One frozen `GANObjective` is an option of the one update rule (`train_step.GANTrainStep`);
the default is the TensorFlow tutorial's update (non-saturating cross-entropy, one D step
per G step, no penalty). The command line, `fit()` and `run.json` all carry the same six
settings, checked here once so that every path refuses the same bad combinations.
Imports nothing heavy: the command line checks its options before TensorFlow starts.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

from .errors import ConfigError
from .names import LOSS_NAMES

WGAN_GP_WEIGHT = 10.0  # the gradient penalty's weight in the WGAN-GP paper (arXiv 1704.00028)
CROSS_ENTROPY = ("non_saturating",)  # the losses with a target probability to smooth


@dataclass(frozen=True)
class GANObjective:
    """The options of the GAN update.

    `loss`: "non_saturating" (cross-entropy, G maximizes log D(G(z))), "hinge" or
    "wasserstein". `gradient_penalty`: weight of (|grad D(x_hat)| - 1)^2 on random
    interpolates x_hat between real and generated images (WGAN-GP). `critic_steps`: D
    updates per G update, each on the same real batch with fresh noise. `r1`: gamma of
    gamma/2 * |grad D(x)|^2 on real images. `spectral_norm`: D's Dense and Conv kernels are
    divided by their largest singular value. `label_smoothing`: the real images' target is
    1 - label_smoothing (one-sided; cross-entropy only).
    """

    loss: str = "non_saturating"
    gradient_penalty: float = 0.0
    critic_steps: int = 1
    r1: float = 0.0
    spectral_norm: bool = False
    label_smoothing: float = 0.0

    def __post_init__(self) -> None:
        if self.loss not in LOSS_NAMES:
            raise ConfigError(f"--loss must be one of {', '.join(LOSS_NAMES)}, got {self.loss!r}")
        if isinstance(self.critic_steps, bool) or int(self.critic_steps) != self.critic_steps \
                or self.critic_steps < 1:
            raise ConfigError(f"--critic-steps must be a whole number of at least 1, got {self.critic_steps}")
        for name, flag in (("gradient_penalty", "--gradient-penalty"), ("r1", "--r1")):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ConfigError(f"{flag} must be a finite weight of 0 (off) or more, got {value}")
        if not 0 <= self.label_smoothing < 1:
            raise ConfigError(f"--label-smoothing must be in [0, 1) (the real target is 1 minus it), "
                              f"got {self.label_smoothing}")
        if self.label_smoothing and self.loss not in CROSS_ENTROPY:
            raise ConfigError(f"--label-smoothing smooths a cross-entropy target; the {self.loss} loss "
                              f"has none: leave it out or use --loss non_saturating")
        if self.loss == "wasserstein" and not self.gradient_penalty and not self.spectral_norm:
            raise ConfigError("--loss wasserstein needs D kept 1-Lipschitz, else its outputs grow "
                              "without bound: give --gradient-penalty W (10 in WGAN-GP) or --spectral-norm")
        object.__setattr__(self, "critic_steps", int(self.critic_steps))
        object.__setattr__(self, "gradient_penalty", float(self.gradient_penalty))
        object.__setattr__(self, "r1", float(self.r1))
        object.__setattr__(self, "label_smoothing", float(self.label_smoothing))
        object.__setattr__(self, "spectral_norm", bool(self.spectral_norm))

    @classmethod
    def from_options(cls, loss: str | None = None, gradient_penalty: float | None = None,
                     critic_steps: int | None = None, r1: float | None = None,
                     spectral_norm: bool | None = None,
                     label_smoothing: float | None = None) -> "GANObjective":
        """The objective with every option not given (None) at its default.

        The gradient penalty defaults to WGAN-GP's weight 10 for the Wasserstein loss and to
        0 (off) for the others; a run.json written before these options existed (all None)
        gives today's non-saturating update.
        """
        loss = loss or "non_saturating"
        if gradient_penalty is None:
            gradient_penalty = WGAN_GP_WEIGHT if loss == "wasserstein" else 0.0
        return cls(loss=loss, gradient_penalty=gradient_penalty,
                   critic_steps=1 if critic_steps is None else critic_steps,
                   r1=0.0 if r1 is None else r1, spectral_norm=bool(spectral_norm),
                   label_smoothing=0.0 if label_smoothing is None else label_smoothing)

    def check_model(self, from_logits: bool, model: str = "this model") -> None:
        """Refuse a loss that needs D's raw output on a D that ends in a sigmoid."""
        if self.loss != "non_saturating" and not from_logits:
            raise ConfigError(f"--loss {self.loss} scores D's raw output, and {model}'s discriminator "
                              f"ends in a sigmoid (outputs in (0, 1)); use a model with a linear "
                              f"output (tutorial, lab, fast...) or --loss non_saturating")

    @property
    def is_default(self) -> bool:
        return self == GANObjective()

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict | None) -> "GANObjective":
        """An objective from `to_dict`'s keys (unknown keys ignored, missing ones defaulted)."""
        known = {f.name for f in fields(cls)}
        return cls.from_options(**{k: v for k, v in (values or {}).items() if k in known})


OPTION_NAMES = tuple(f.name for f in fields(GANObjective))  # the TrainConfig fields that hold it
