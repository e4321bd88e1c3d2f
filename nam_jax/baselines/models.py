"""The deterministic 16 -> 64 face super-resolution networks the seed papers compare against.

- LowToHigh (Bulat et al. 2018, 3.4, Fig. 4b): 17 pre-activation residual blocks (batch norm)
  in three groups of 2, 3 and 12 at 16, 32 and 64 px, each group with a skip connection from
  its input to its output, bilinear upsampling between groups; no noise input.
- URDGN (Yu & Porikli 2016, "ultra-resolving" generator): a conv layer, then transposed
  convolutions that double the resolution (16 -> 32 -> 64 here; the paper went to 128), each
  followed by a conv, and a conv to RGB. Its discriminator is a stride-2 conv stack with a
  dense output.
Both output tanh images in [-1, 1]. The L2H critic is the degradation critic with two more
max-pools for its 64 px input (Bulat Fig. 5), nam_jax.layers.Critic(pools=4).
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from nam_jax import layers


def bilinear_up(x: jax.Array) -> jax.Array:
  b, h, w, c = x.shape
  return jax.image.resize(x, (b, 2 * h, 2 * w, c), 'bilinear')


class LowToHigh(nn.Module):
  """LR [B, 16, 16, 3] -> HR [B, 64, 64, 3]; widths of the 16, 32 and 64 px groups."""

  widths: Sequence[int] = (256, 128, 64)
  blocks: Sequence[int] = (2, 3, 12)

  @nn.compact
  def __call__(self, lr_images: jax.Array, train: bool = False) -> jax.Array:
    if lr_images.shape[1:] != (16, 16, 3):
      raise ValueError(f'LowToHigh expects LR images [B, 16, 16, 3], got {lr_images.shape}')
    x = layers.same_conv(self.widths[0])(lr_images)
    for g, (width, n) in enumerate(zip(self.widths, self.blocks)):
      if g:
        x = layers.same_conv(width, 1)(bilinear_up(x))
      skip = x
      for _ in range(n):
        x = layers.PreActBlock(width, batch_norm=True)(x, train)
      x = x + skip  # The group's skip connection (first to last block).
    x = nn.relu(nn.BatchNorm(use_running_average=not train, momentum=0.9)(x))
    return jnp.tanh(layers.same_conv(3)(x))


class URDGN(nn.Module):
  """LR [B, 16, 16, 3] -> HR [B, 64, 64, 3] by two stride-2 transposed convolutions."""

  widths: Sequence[int] = (256, 128, 64)

  @nn.compact
  def __call__(self, lr_images: jax.Array, train: bool = False) -> jax.Array:
    del train
    if lr_images.shape[1:] != (16, 16, 3):
      raise ValueError(f'URDGN expects LR images [B, 16, 16, 3], got {lr_images.shape}')
    x = nn.relu(layers.same_conv(self.widths[0])(lr_images))
    for width in self.widths[1:]:
      x = nn.relu(nn.ConvTranspose(width, (4, 4), strides=(2, 2), padding='SAME')(x))
      x = nn.relu(layers.same_conv(width)(x))
    return jnp.tanh(layers.same_conv(3, 5)(x))


class URDGNDiscriminator(nn.Module):
  """HR [B, 64, 64, 3] -> logits [B]: stride-2 convs with leaky ReLU, then a dense layer."""

  widths: Sequence[int] = (32, 64, 128, 256)

  @nn.compact
  def __call__(self, images: jax.Array, train: bool = False) -> jax.Array:
    del train
    x = images
    for width in self.widths:
      x = nn.leaky_relu(nn.Conv(width, (4, 4), strides=(2, 2), padding='SAME')(x), 0.2)
    return nn.Dense(1)(layers.flatten(x))[:, 0]
