"""Building blocks shared by nam_jax's networks."""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp


def pixel_shuffle(x: jax.Array, factor: int = 2) -> jax.Array:
  """Depth-to-space: [B, H, W, C*f*f] -> [B, H*f, W*f, C]."""
  b, h, w, c = x.shape
  c_out = c // (factor * factor)
  x = x.reshape(b, h, w, factor, factor, c_out)
  return x.transpose(0, 1, 3, 2, 4, 5).reshape(b, h * factor, w * factor, c_out)


def avg_pool(x: jax.Array, factor: int = 2) -> jax.Array:
  return nn.avg_pool(x, (factor, factor), (factor, factor))


class Conv(nn.Module):
  """A conv layer, optionally spectrally normalised (stats kept in 'batch_stats')."""

  features: int
  kernel: int = 3
  spectral: bool = False

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    conv = nn.Conv(self.features, (self.kernel, self.kernel), padding='SAME')
    if self.spectral:
      return nn.SpectralNorm(conv)(x, update_stats=train)
    return conv(x)


class PreActBlock(nn.Module):
  """Pre-activation residual block (He et al. 2016): [BN] ReLU conv [BN] ReLU conv + skip.

  With batch_norm=False it is the critic's block (Bulat Fig. 6a); with True the generator's
  (Fig. 6b). The skip is a 1x1 conv when the width changes.
  """

  features: int
  batch_norm: bool = True
  spectral: bool = False

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    def norm(h):
      if not self.batch_norm:
        return h
      return nn.BatchNorm(use_running_average=not train, momentum=0.9)(h)

    h = Conv(self.features, 3, self.spectral)(nn.relu(norm(x)), train)
    h = Conv(self.features, 3, self.spectral)(nn.relu(norm(h)), train)
    skip = x if x.shape[-1] == self.features else Conv(self.features, 1, self.spectral)(x, train)
    return skip + h


def flatten(x: jax.Array) -> jax.Array:
  return jnp.reshape(x, (x.shape[0], -1))
