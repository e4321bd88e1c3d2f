"""Global statistics of LR faces: what differs between two degradations of one face."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def image_statistics(x: jax.Array) -> jax.Array:
  """[B, 9] per-channel mean (colour cast, brightness), standard deviation (contrast) and
  mean absolute gradient (sharpness: blur and noise) of images [B, H, W, 3]."""
  grad = (jnp.abs(x[:, 1:, :-1] - x[:, :-1, :-1]) + jnp.abs(x[:, :-1, 1:] - x[:, :-1, :-1]))
  return jnp.concatenate([jnp.mean(x, axis=(1, 2)), jnp.std(x, axis=(1, 2)),
                          jnp.mean(grad, axis=(1, 2))], axis=-1)
