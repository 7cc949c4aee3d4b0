"""What the trainer needs to know about an architecture besides its layers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import keras


@dataclass(frozen=True)
class ModelSpec:
    """An architecture and the training recipe its source document publishes.

    `from_logits` says whether the discriminator ends in a linear unit (True) or a
    sigmoid (False); `noise` is the latent distribution ("normal" or "uniform" in [-1, 1]).
    `lr_decay_epochs` are the epochs after which the learning rate drops tenfold (seed 003).
    `ema_decay` > 0 samples from a moving average of the generator's weights.
    `needs_labels`: the model is conditioned on the data's labels (a class-conditional GAN),
    so training reads (images, labels) batches.
    """

    name: str
    source: str
    build_generator: Callable[..., keras.Model]
    build_discriminator: Callable[..., keras.Model]
    image_shape: tuple[int, int, int] = (28, 28, 1)
    latent_dim: int = 100
    from_logits: bool = True
    noise: str = "normal"
    lr_g: float = 1e-4
    lr_d: float = 1e-4
    beta1: float = 0.9
    batch_size: int = 256
    epochs: int = 50
    checkpoint_every: int = 15
    lr_decay_epochs: tuple[int, ...] = field(default_factory=tuple)
    ema_decay: float = 0.0
    needs_labels: bool = False

    def build(self, image_shape: tuple[int, int, int] | None = None,
              latent_dim: int | None = None) -> tuple[keras.Model, keras.Model]:
        """Generator and discriminator for `image_shape` (channels may differ from the default)."""
        shape = tuple(image_shape or self.image_shape)
        z = latent_dim or self.latent_dim
        return self.build_generator(latent_dim=z, channels=shape[-1]), self.build_discriminator(shape)
