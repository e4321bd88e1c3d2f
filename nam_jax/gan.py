"""GAN objectives shared by the degradation GAN and the Progressive GAN.

All take critic outputs (logits) as arrays and return scalar means over the batch.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp


def hinge_critic_loss(real: jax.Array, fake: jax.Array) -> jax.Array:
  """Hinge loss of the critic (SR-NAM eq. 2, written as a loss to minimise)."""
  return jnp.mean(jax.nn.relu(1.0 - real)) + jnp.mean(jax.nn.relu(1.0 + fake))


def wgan_critic_loss(real: jax.Array, fake: jax.Array) -> jax.Array:
  """Wasserstein critic loss E[D(fake)] - E[D(real)]."""
  return jnp.mean(fake) - jnp.mean(real)


def generator_loss(fake: jax.Array) -> jax.Array:
  """-E[D(G(.))]: the generator side of both hinge and Wasserstein GANs."""
  return -jnp.mean(fake)


def gradient_penalty(critic: Callable[[jax.Array], jax.Array], real: jax.Array,
                     fake: jax.Array, key: jax.Array) -> jax.Array:
  """WGAN-GP penalty E[(||grad D(x_hat)||_2 - 1)^2] on random interpolates (Gulrajani 2017).

  Args:
    critic: maps a batch [B, ...] to logits [B] or [B, 1].
    real, fake: batches of the same shape.
    key: PRNG key for the per-sample interpolation weights.
  """
  eps = jax.random.uniform(key, (real.shape[0],) + (1,) * (real.ndim - 1), real.dtype)
  x_hat = eps * real + (1.0 - eps) * fake
  grads = jax.grad(lambda x: jnp.sum(critic(x)))(x_hat)
  norms = jnp.sqrt(jnp.sum(grads.reshape(grads.shape[0], -1) ** 2, axis=-1) + 1e-12)
  return jnp.mean((norms - 1.0) ** 2)
