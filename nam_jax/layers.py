"""Building blocks shared by nam_jax's networks."""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax

from nam_jax import devices

_NHWC = ('NHWC', 'HWIO', 'NHWC')


def init_variables(module: nn.Module, key: jax.Array, *inputs, method=None) -> dict:
  """module.init(key, *inputs, method=method) as one program compiled for a single run
  (devices.RUN_ONCE), instead of op by op or with the full optimisation a training step
  gets. Under a trace (jax.eval_shape, jit) it is module.init itself: the enclosing program
  compiles it."""
  init = lambda k, *xs: module.init(k, *xs, method=method)
  if any(isinstance(x, jax.core.Tracer) for x in jax.tree.leaves((key, inputs))):
    return init(key, *inputs)
  return jax.jit(init, compiler_options=devices.RUN_ONCE)(key, *inputs)


def _conv(x: jax.Array, w: jax.Array) -> jax.Array:
  return lax.conv_general_dilated(x, w, (1, 1), 'SAME', dimension_numbers=_NHWC)


@jax.custom_vjp
def conv_same(x: jax.Array, w: jax.Array) -> jax.Array:
  """Stride-1 'SAME' convolution, NHWC input, HWIO kernel of odd size.

  Values and gradients equal lax.conv_general_dilated's. Only the input gradient is written
  differently: as a plain convolution with the kernel flipped and its in/out axes swapped
  explicitly. Autodiff's own form (a convolution with 'oi' kernel dimensions) takes a slow
  path on XLA:CPU inside loops, which made every SR-NAM iteration in a lax.scan about 6x
  slower than the same iteration outside one (benchmarks/bench_nam.py).
  """
  return _conv(x, w)


def _conv_same_fwd(x, w):
  return _conv(x, w), (x, w)


def _conv_same_bwd(residuals, g):
  x, w = residuals
  _, kernel_vjp = jax.vjp(lambda k: _conv(x, k), w)
  w_back = lax.optimization_barrier(jnp.flip(w, (0, 1)).swapaxes(2, 3))
  return _conv(g, w_back), kernel_vjp(g)[0]


conv_same.defvjp(_conv_same_fwd, _conv_same_bwd)


def conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation=None,
                         rhs_dilation=None, dimension_numbers=None, feature_group_count=1,
                         batch_group_count=1, precision=None, preferred_element_type=None):
  """lax.conv_general_dilated for flax's nn.Conv: the stride-1 'SAME' NHWC case with an odd
  kernel goes to conv_same, anything else to lax unchanged."""
  nhwc = lax.conv_dimension_numbers(lhs.shape, rhs.shape, _NHWC)
  if (tuple(window_strides) == (1, 1) and padding == 'SAME' and rhs.ndim == 4
      and rhs.shape[0] % 2 == 1 and rhs.shape[1] % 2 == 1
      and set(lhs_dilation or (1,)) == {1} and set(rhs_dilation or (1,)) == {1}
      and lax.conv_dimension_numbers(lhs.shape, rhs.shape, dimension_numbers) == nhwc
      and feature_group_count == 1 and batch_group_count == 1 and precision is None
      and preferred_element_type is None):
    return conv_same(lhs, rhs)
  return lax.conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation,
                                  rhs_dilation, dimension_numbers, feature_group_count,
                                  batch_group_count, precision, preferred_element_type)


def pixel_shuffle(x: jax.Array, factor: int = 2) -> jax.Array:
  """Depth-to-space: [B, H, W, C*f*f] -> [B, H*f, W*f, C]."""
  b, h, w, c = x.shape
  c_out = c // (factor * factor)
  x = x.reshape(b, h, w, factor, factor, c_out)
  return x.transpose(0, 1, 3, 2, 4, 5).reshape(b, h * factor, w * factor, c_out)


def avg_pool(x: jax.Array, factor: int = 2) -> jax.Array:
  return nn.avg_pool(x, (factor, factor), (factor, factor))


def same_conv(features: int, kernel: int = 3) -> nn.Conv:
  """A kernel x kernel 'SAME' nn.Conv whose convolution is conv_same."""
  return nn.Conv(features, (kernel, kernel), padding='SAME',
                 conv_general_dilated=conv_general_dilated)


class Conv(nn.Module):
  """A conv layer, optionally spectrally normalised (stats kept in 'batch_stats')."""

  features: int
  kernel: int = 3
  spectral: bool = False

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    conv = same_conv(self.features, self.kernel)
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


def shrink(x: jax.Array, size: int) -> jax.Array:
  """Anti-aliased (triangle filter) resize of images [B, H, W, C] to size x size."""
  if x.shape[1] == size and x.shape[2] == size:
    return x
  return jax.image.resize(x, (x.shape[0], size, size, x.shape[-1]), 'linear', antialias=True)


class Critic(nn.Module):
  """The residual critic of the degradation GAN and the Low-to-High baseline: 6
  pre-activation residual blocks without batch norm, max-pooling after the last `pools`
  (2 for 16 px inputs: 16 -> 4; 4 for the 64 px inputs of the Low-to-High baseline), then a
  dense layer to one logit."""

  widths: Sequence[int] = (64, 64, 128, 128, 256, 256)
  spectral: bool = False
  pools: int = 2

  @nn.compact
  def __call__(self, lr: jax.Array, train: bool = False) -> jax.Array:
    x = Conv(self.widths[0], 3, self.spectral)(lr, train)
    for i, width in enumerate(self.widths):
      x = PreActBlock(width, batch_norm=False, spectral=self.spectral)(x, train)
      if i >= len(self.widths) - self.pools:
        x = nn.max_pool(x, (2, 2), (2, 2))
    x = flatten(nn.relu(x))
    if self.spectral:
      return nn.SpectralNorm(nn.Dense(1))(x, update_stats=train)[:, 0]
    return nn.Dense(1)(x)[:, 0]
