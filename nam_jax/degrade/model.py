"""The High-to-Low degradation GAN: HR 64x64 + noise -> realistic LR 16x16 (SR-NAM 3.2,
Bulat et al. 3.3): training-mode passes and the pair of networks of a config (the degrader
itself, what inference needs of it, is nam_jax/degradations/h2l.py)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from nam_jax import layers
from nam_jax.degradations.h2l import Degrader, degrade


def degrade_training(net: Degrader, params, batch_stats, hr: jax.Array, noise: jax.Array
                     ) -> tuple[jax.Array, dict]:
  """Training-mode forward pass: LR faces and the updated batch statistics."""
  out, updated = net.apply({'params': params, 'batch_stats': batch_stats}, hr, noise,
                           train=True, mutable=['batch_stats'])
  return out, updated['batch_stats']


def degrade_images(cfg, params, batch_stats, hr: jax.Array, key: jax.Array) -> jax.Array:
  """Inference-mode degradation of HR faces (float [-1, 1]) of a `config.degrade`, with
  noise drawn from `key`."""
  net, _ = from_config(cfg)
  noise = jax.random.normal(key, (hr.shape[0], cfg.noise_dim))
  return degrade(net, {'params': params, 'batch_stats': batch_stats}, jnp.asarray(hr), noise)


def from_config(cfg) -> tuple[Degrader, layers.Critic]:
  """The two networks of a `config.degrade`."""
  return (Degrader(tuple(cfg.gen_widths), cfg.blocks_per_group),
          layers.Critic(tuple(cfg.critic_widths), cfg.spectral_norm))
