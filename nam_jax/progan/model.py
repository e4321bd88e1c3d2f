"""Progressive GAN (Karras et al. 2017) growing 4 -> 8 -> 16 -> 32 -> 64, as used by SR-NAM 3.3.

Both networks hold the parameters of every stage from the start (named block_{s},
to_rgb_{s} / from_rgb_{s}), and `stage` (static) and `alpha` (traced) select what runs. So
parameters and optimizer state keep their shapes across stages and carry over unchanged, and
each stage compiles once. Stage s works at 4 * 2**s pixels; during its fade-in the new block's
output is blended with the previous stage's output (nearest-upsampled in G, average-pooled
input in D) by alpha in [0, 1].
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from nam_jax import layers


def pixel_norm(x: jax.Array, eps: float = 1e-8) -> jax.Array:
  """Normalises each pixel's feature vector to unit average square (Karras 4.2)."""
  return x * jax.lax.rsqrt(jnp.mean(x * x, axis=-1, keepdims=True) + eps)


def minibatch_stddev(x: jax.Array, group: int = 4) -> jax.Array:
  """Appends one channel: the std over each group of samples, averaged over features and
  pixels (Karras 3). The batch must divide into groups (group shrinks to fit)."""
  b, h, w, c = x.shape
  g = min(group, b)
  while b % g:
    g -= 1
  y = x.reshape(g, b // g, h, w, c)
  std = jnp.sqrt(jnp.var(y, axis=0) + 1e-8)                # [b/g, h, w, c]
  stat = jnp.mean(std, axis=(1, 2, 3))                      # [b/g]
  stat = jnp.tile(stat, g)[:, None, None, None]             # sample i is in group i % (b/g)
  return jnp.concatenate([x, jnp.broadcast_to(stat, (b, h, w, 1))], axis=-1)


def upsample(x: jax.Array, factor: int = 2) -> jax.Array:
  return x.repeat(factor, axis=1).repeat(factor, axis=2)


def lrelu(x: jax.Array) -> jax.Array:
  return nn.leaky_relu(x, 0.2)


class EqConv(nn.Module):
  """Conv with equalized learning rate: weights ~ N(0, 1), scaled at run time by the He
  constant gain / sqrt(fan_in) (Karras 4.1)."""

  features: int
  kernel: int = 3
  gain: float = float(np.sqrt(2.0))

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    fan_in = self.kernel * self.kernel * x.shape[-1]
    w = self.param('kernel', nn.initializers.normal(1.0),
                   (self.kernel, self.kernel, x.shape[-1], self.features))
    b = self.param('bias', nn.initializers.zeros, (self.features,))
    y = layers.conv_same(x, w * (self.gain / np.sqrt(fan_in)))
    return y + b


class EqDense(nn.Module):
  """Dense layer with equalized learning rate."""

  features: int
  gain: float = float(np.sqrt(2.0))

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    w = self.param('kernel', nn.initializers.normal(1.0), (x.shape[-1], self.features))
    b = self.param('bias', nn.initializers.zeros, (self.features,))
    return x @ (w * (self.gain / np.sqrt(x.shape[-1]))) + b


class _GenBlock(nn.Module):
  features: int
  first: bool = False

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    if self.first:  # Latent -> 4x4 (a 4x4 "deconv" written as a dense layer).
      x = EqDense(16 * self.features, gain=float(np.sqrt(2.0) / 4))(pixel_norm(x))
      x = pixel_norm(lrelu(x.reshape(x.shape[0], 4, 4, self.features)))
    else:
      x = pixel_norm(lrelu(EqConv(self.features)(upsample(x))))
    return pixel_norm(lrelu(EqConv(self.features)(x)))


class Generator(nn.Module):
  """z [B, latent] -> images [B, 4*2**stage, 4*2**stage, 3] (linear output, about [-1, 1])."""

  widths: Sequence[int] = (512, 512, 512, 512, 256)

  @property
  def num_stages(self) -> int:
    return len(self.widths)

  def setup(self):
    self.blocks = [_GenBlock(w, first=(s == 0), name=f'block_{s}')
                   for s, w in enumerate(self.widths)]
    self.to_rgb = [EqConv(3, 1, gain=1.0, name=f'to_rgb_{s}') for s in range(len(self.widths))]

  def __call__(self, z: jax.Array, stage: int, alpha: jax.Array | float = 1.0) -> jax.Array:
    x = prev = z
    for s in range(stage + 1):
      prev = x
      x = self.blocks[s](x)
    out = self.to_rgb[stage](x)
    if stage == 0:
      return out
    old = upsample(self.to_rgb[stage - 1](prev))
    return alpha * out + (1.0 - alpha) * old

  def init_all(self, key: jax.Array, latent_dim: int):
    """Parameters of every stage (initialised through the full-size network)."""
    def all_stages(module, z):
      return [module(z, s) for s in range(module.num_stages)]
    return layers.init_variables(self, key, jnp.zeros((1, latent_dim)), method=all_stages)


class _CriticBlock(nn.Module):
  features: Sequence[int]

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    x = lrelu(EqConv(self.features[0])(x))
    x = lrelu(EqConv(self.features[1])(x))
    return layers.avg_pool(x)


class _CriticHead(nn.Module):
  features: int

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    x = minibatch_stddev(x)
    x = lrelu(EqConv(self.features)(x))
    x = lrelu(EqDense(self.features)(layers.flatten(x)))
    return EqDense(1, gain=1.0)(x)[:, 0]


class Critic(nn.Module):
  """images [B, 4*2**stage, ..., 3] -> logits [B]; mirror of the generator."""

  widths: Sequence[int] = (512, 512, 512, 512, 256)

  @property
  def num_stages(self) -> int:
    return len(self.widths)

  def setup(self):
    w = self.widths
    self.from_rgb = [EqConv(w[s], 1, name=f'from_rgb_{s}') for s in range(len(w))]
    # Block s works at stage s's resolution and outputs stage s-1's width (s >= 1).
    self.blocks = [None] + [_CriticBlock((w[s], w[s - 1]), name=f'block_{s}')
                            for s in range(1, len(w))]
    self.head = _CriticHead(w[0], name='head')

  def __call__(self, images: jax.Array, stage: int, alpha: jax.Array | float = 1.0):
    x = lrelu(self.from_rgb[stage](images))
    if stage > 0:
      x = self.blocks[stage](x)
      old = lrelu(self.from_rgb[stage - 1](layers.avg_pool(images)))
      x = alpha * x + (1.0 - alpha) * old
      for s in range(stage - 1, 0, -1):
        x = self.blocks[s](x)
    return self.head(x)

  def init_all(self, key: jax.Array):
    def all_stages(module, xs):
      return [module(x, s) for s, x in enumerate(xs)]
    xs = [jnp.zeros((2, 4 * 2 ** s, 4 * 2 ** s, 3)) for s in range(len(self.widths))]
    return layers.init_variables(self, key, xs, method=all_stages)


def resolution(stage: int) -> int:
  return 4 * 2 ** stage


def from_config(cfg) -> tuple[Generator, Critic]:
  return Generator(tuple(cfg.widths)), Critic(tuple(cfg.widths))
