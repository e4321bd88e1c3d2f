"""The High-to-Low degradation GAN: HR 64x64 + noise -> realistic LR 16x16 (SR-NAM 3.2,
Bulat et al. 3.3): the degrader, its critic and their forward passes."""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from nam_jax import layers


class Degrader(nn.Module):
  """Encoder-decoder ResNet generator.

  6 groups of pre-activation residual blocks: after each of the first four the resolution is
  halved by average pooling (64 -> 4), after each of the last two it is doubled by pixel
  shuffle (4 -> 16). The noise vector is projected by a dense layer to one 64x64 channel and
  concatenated to the HR image. Output in [-1, 1] (tanh).
  """

  widths: Sequence[int] = (96, 128, 256, 512, 256, 128)
  blocks_per_group: int = 2

  @nn.compact
  def __call__(self, hr: jax.Array, noise: jax.Array, train: bool = False) -> jax.Array:
    if hr.shape[1:] != (64, 64, 3):
      raise ValueError(f'Degrader expects HR images [B, 64, 64, 3], got {hr.shape}')
    if len(self.widths) != 6:
      raise ValueError(f'Degrader needs 6 group widths, got {self.widths}')
    b = hr.shape[0]
    noise_map = nn.Dense(64 * 64, name='noise_proj')(noise).reshape(b, 64, 64, 1)
    x = layers.same_conv(self.widths[0])(jnp.concatenate([hr, noise_map], -1))
    for g, width in enumerate(self.widths):
      for _ in range(self.blocks_per_group):
        x = layers.PreActBlock(width, batch_norm=True)(x, train)
      if g < 4:
        x = layers.avg_pool(x)
      else:
        x = layers.pixel_shuffle(layers.same_conv(4 * width)(x))
    x = nn.relu(nn.BatchNorm(use_running_average=not train, momentum=0.9)(x))
    return jnp.tanh(layers.same_conv(3)(x))


def degrade(net: Degrader, variables, hr: jax.Array, noise: jax.Array) -> jax.Array:
  """Inference-mode forward pass: LR faces [B, 16, 16, 3] of HR faces and noise vectors."""
  return net.apply(variables, hr, noise, train=False)


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
