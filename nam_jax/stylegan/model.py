"""MobileStyleGAN (the random-face wheel's StyleGAN2-FFHQ distillation) as Flax modules.

Mapping: z [B, 512] -> w [B, 512]: pixel norm, then 8 dense layers with leaky ReLU and a gain
(learning-rate multipliers are already folded into the exported weights).
Synthesis: w -> features at 4, 8, ..., 512 px and the 1024 px image. A constant 4x4x512 input
goes through a modulated 3x3 conv; then 7 layers each modulate their input per channel, read
it as Haar wavelet coefficients (first C/4 channels the low band, the rest the three high
bands, interleaved per channel) and invert one DWT level (doubling the resolution, C/4
channels), then run two modulated depthwise-separable 3x3 convs with baked noise, bias and
leaky ReLU. Demodulation is folded into the pointwise weights of the export, so a modulation is
a per-channel scale. The last layer's to_img (1x1, 64 -> 12 channels) and one more inverse DWT
give the RGB image at 1024 px, about [-1, 1].

w may be one style per image [B, 512] (W space, what the export was traced with) or one per
modulation [B, 23, 512] (W+): index 0 for conv1, 1 + 3i / 2 + 3i / 3 + 3i for layer i's up,
conv1 and conv2, 22 for to_img. Parameters come from nam_jax.stylegan.convert; `load_params`
reads them.
"""

from __future__ import annotations

import pathlib

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from nam_jax import layers

STYLE_DIM = 512
NUM_LAYERS = 7
NUM_STYLES = 23
# Output channels of conv1 (4 px) and of layers 0..6 (8 ... 512 px).
WIDTHS = (512, 512, 512, 512, 512, 256, 128, 64)
_HAAR = float(1 / np.sqrt(2))


def resolution(level: int) -> int:
  """Pixels of level `level` (0 = conv1 at 4 px, i + 1 = layer i)."""
  return 4 * 2 ** level


def leaky(x: jax.Array, slope) -> jax.Array:
  return jnp.where(x >= 0, x, x * slope)


def style_at(w: jax.Array, index: int) -> jax.Array:
  return w if w.ndim == 2 else w[:, index]


def inverse_haar(x: jax.Array, channels: int) -> jax.Array:
  """[B, H, W, 4C] wavelet coefficients (low C | high C x 3 interleaved) -> [B, 2H, 2W, C].

  out[2i + p, 2j + q] = (ll g0[p] + lh g1[p]) g0[q] + (hl g0[p] + hh g1[p]) g1[q], with the
  orthonormal Haar taps g0 = (a, a), g1 = (a, -a), a = 1/sqrt(2).
  """
  b, h, w, _ = x.shape
  high = x[..., channels:].reshape(b, h, w, channels, 3)
  ll, lh, hl, hh = x[..., :channels], high[..., 0], high[..., 1], high[..., 2]
  g0 = jnp.array([_HAAR, _HAAR])
  g1 = jnp.array([_HAAR, -_HAAR])
  col_lo = ll[:, :, None] * g0[:, None, None] + lh[:, :, None] * g1[:, None, None]
  col_hi = hl[:, :, None] * g0[:, None, None] + hh[:, :, None] * g1[:, None, None]
  col_lo, col_hi = col_lo.reshape(b, 2 * h, w, channels), col_hi.reshape(b, 2 * h, w, channels)
  out = col_lo[:, :, :, None] * g0[:, None] + col_hi[:, :, :, None] * g1[:, None]
  return out.reshape(b, 2 * h, 2 * w, channels)


def depthwise3x3(x: jax.Array, kernel: jax.Array) -> jax.Array:
  """3x3 depthwise cross-correlation with zero padding; kernel [3, 3, C]. Written as nine
  shifted multiply-adds, which XLA:CPU runs much faster than a grouped convolution."""
  h, w = x.shape[1:3]
  padded = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
  return sum(padded[:, i:i + h, j:j + w] * kernel[i, j] for i in range(3) for j in range(3))


class _Style(nn.Module):
  """Per-channel modulation s = (w @ K + b) [* scale] of `channels` channels."""

  channels: int
  scaled: bool = True

  def style(self, w: jax.Array) -> jax.Array:
    kernel = self.param('style_kernel', nn.initializers.zeros, (STYLE_DIM, self.channels))
    bias = self.param('style_bias', nn.initializers.ones, (self.channels,))
    s = w @ kernel + bias
    if self.scaled:
      s = s * self.param('style_scale', nn.initializers.ones, ())
    return s

  def finish(self, x: jax.Array, res: int) -> jax.Array:
    noise = self.param('noise', nn.initializers.zeros, (res, res))
    bias = self.param('bias', nn.initializers.zeros, (x.shape[-1],))
    slope = self.param('slope', nn.initializers.ones, ())
    return leaky(x + noise[None, :, :, None] + bias, slope)


class StyledConv3x3(_Style):
  """conv1: modulated full 3x3 conv on the 4x4 constant."""

  features: int = 512

  @nn.compact
  def __call__(self, x: jax.Array, w: jax.Array) -> jax.Array:
    x = x * self.style(w)[:, None, None, :]
    kernel = self.param('kernel', nn.initializers.zeros, (3, 3, self.channels, self.features))
    return self.finish(layers.conv_same(x, kernel), x.shape[1])


class StyledSeparable(_Style):
  """Modulated depthwise 3x3 + pointwise conv, baked noise, bias, leaky ReLU."""

  features: int = 512

  @nn.compact
  def __call__(self, x: jax.Array, w: jax.Array) -> jax.Array:
    x = x * self.style(w)[:, None, None, :]
    x = depthwise3x3(x, self.param('depthwise', nn.initializers.zeros, (3, 3, self.channels)))
    x = x @ self.param('pointwise', nn.initializers.zeros, (self.channels, self.features))
    return self.finish(x, x.shape[1])


class Up(_Style):
  """Modulates the coefficients, then inverts one Haar level: 2x resolution, C/4 channels."""

  @nn.compact
  def __call__(self, x: jax.Array, w: jax.Array) -> jax.Array:
    return inverse_haar(x * self.style(w)[:, None, None, :], self.channels // 4)


class ToImage(_Style):
  """Modulated 1x1 conv to 12 Haar coefficients, inverse Haar: RGB at twice the resolution."""

  @nn.compact
  def __call__(self, x: jax.Array, w: jax.Array) -> jax.Array:
    f = (x * self.style(w)[:, None, None, :]) @ self.param(
        'kernel', nn.initializers.zeros, (self.channels, 12))
    return inverse_haar(f + self.param('bias', nn.initializers.zeros, (12,)), 3)


def layer(i: int, x: jax.Array, w: jax.Array) -> jax.Array:
  """Layer i (level i + 1): up, conv1, conv2. Call it inside a compact method: its modules
  (layer_{i}_up, layer_{i}_conv1, layer_{i}_conv2) become the caller's submodules, named as
  the converted weights name them."""
  up, conv1, conv2 = layer_names(i)
  x = Up(WIDTHS[i], scaled=False, name=up)(x, style_at(w, 1 + 3 * i))
  x = StyledSeparable(WIDTHS[i] // 4, features=WIDTHS[i + 1], name=conv1)(
      x, style_at(w, 2 + 3 * i))
  return StyledSeparable(WIDTHS[i + 1], features=WIDTHS[i + 1], name=conv2)(
      x, style_at(w, 3 + 3 * i))


def layer_names(i: int) -> tuple[str, str, str]:
  return f'layer_{i}_up', f'layer_{i}_conv1', f'layer_{i}_conv2'


class Mapping(nn.Module):
  """z [B, 512] -> w [B, 512]."""

  @nn.compact
  def __call__(self, z: jax.Array) -> jax.Array:
    x = z * jax.lax.rsqrt(jnp.mean(z * z, axis=-1, keepdims=True) + 1e-8)
    for k in range(8):
      dense = _MapDense(name=f'dense_{k}')
      x = dense(x)
    return x


class _MapDense(nn.Module):
  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    kernel = self.param('kernel', nn.initializers.zeros, (STYLE_DIM, STYLE_DIM))
    bias = self.param('bias', nn.initializers.zeros, (STYLE_DIM,))
    slope = self.param('slope', nn.initializers.ones, ())
    gain = self.param('gain', nn.initializers.ones, ())
    return leaky(x @ kernel + bias, slope) * gain


class Synthesis(nn.Module):
  """w -> the features of levels 0..`levels` (list, NHWC) and, when `to_image`, the image.

  levels: how many of the 7 layers to run (0 = conv1 only); to_image needs all 7.
  """

  levels: int = NUM_LAYERS
  to_image: bool = True

  @nn.compact
  def __call__(self, w: jax.Array) -> tuple[list[jax.Array], jax.Array | None]:
    if self.to_image and self.levels != NUM_LAYERS:
      raise ValueError('the 1024 px image needs all 7 layers')
    const = self.param('input', nn.initializers.zeros, (1, 4, 4, WIDTHS[0]))
    x = jnp.broadcast_to(const, (w.shape[0],) + const.shape[1:])
    x = StyledConv3x3(WIDTHS[0], features=WIDTHS[0], name='conv1')(x, style_at(w, 0))
    features = [x]
    for i in range(self.levels):
      x = layer(i, x, w)
      features.append(x)
    image = None
    if self.to_image:
      image = ToImage(WIDTHS[-1], name='to_img')(x, style_at(w, NUM_STYLES - 1))
    return features, image


def load_params(path: str | pathlib.Path | None = None) -> dict:
  """{'mapping': ..., 'synthesis': ...} from a converted .npz (nam_jax.stylegan.convert).

  Without a path, the data dir's file. Reading never converts: the prior's loader and the
  head's trainer call convert.ensure_converted() first (verified against its checksum,
  converted from the wheel on first use or when damaged) and pass its path.
  """
  import zipfile
  from nam_jax.stylegan import convert
  path = convert.default_path() if path is None else pathlib.Path(path)
  if not path.is_file():
    raise FileNotFoundError(f'{path}: no converted MobileStyleGAN weights; run '
                            '`python -m nam_jax.stylegan.convert`')
  tree: dict = {}
  try:
    with np.load(path) as z:
      for key in z.files:
        parts = key.split('/')
        if parts[0] == 'synthesis' and parts[1].startswith('layer_'):
          parts = ['synthesis', f'{parts[1]}_{parts[2]}'] + parts[3:]  # Flat module names.
        node = tree
        for p in parts[:-1]:
          node = node.setdefault(p, {})
        node[parts[-1]] = jnp.asarray(z[key])
  except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError) as e:
    raise convert.ConversionError(f'{path}: unreadable MobileStyleGAN weights '
                                  f'({type(e).__name__}: {e})') from None
  return tree
