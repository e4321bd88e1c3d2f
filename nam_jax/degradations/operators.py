"""Known downsampling operators as SR-NAM degradations: no weights, no free inputs.

Each operator is the separable linear map PIL applies when it shrinks an image with an
anti-aliasing filter (Image.resize with BICUBIC, BILINEAR or BOX): output pixel i of an axis
is a normalised weighted sum of the input pixels within the filter's support stretched by the
scale factor, centred on (i + 0.5) * scale. Built once in numpy as an [out, in] matrix per
axis, applied as two matmuls, so it is exact, differentiable and nearly free beside the face
prior. 'area' is PIL's BOX filter: at an integer factor, the mean of each 4x4 block.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np


def _bicubic(x: np.ndarray, a: float = -0.5) -> np.ndarray:
  x = np.abs(x)
  return np.where(x < 1, ((a + 2) * x - (a + 3)) * x * x + 1,
                  np.where(x < 2, (((x - 5) * x + 8) * x - 4) * a, 0.0))


def _triangle(x: np.ndarray) -> np.ndarray:
  return np.maximum(0.0, 1.0 - np.abs(x))


def _box(x: np.ndarray) -> np.ndarray:
  return ((x >= -0.5) & (x < 0.5)).astype(np.float64)


# name -> (filter, support in input pixels at scale 1)
FILTERS = {'bicubic': (_bicubic, 2.0), 'bilinear': (_triangle, 1.0), 'area': (_box, 0.5)}


@functools.lru_cache(maxsize=None)
def resample_matrix(size_in: int, size_out: int, kind: str) -> np.ndarray:
  """[size_out, size_in] float32 matrix of PIL's anti-aliased resize along one axis."""
  fn, support = FILTERS[kind]
  scale = size_in / size_out
  fscale = max(scale, 1.0)
  support *= fscale
  m = np.zeros((size_out, size_in))
  for i in range(size_out):
    centre = (i + 0.5) * scale
    lo = max(int(centre - support + 0.5), 0)
    hi = min(int(centre + support + 0.5), size_in)
    j = np.arange(lo, hi)
    w = fn((j - centre + 0.5) / fscale)
    m[i, lo:hi] = w / w.sum()
  return m.astype(np.float32)


def resize(images: jax.Array, size: int, kind: str) -> jax.Array:
  """Images [..., H, W, C] -> [..., size, size, C] with the operator `kind`."""
  rows = jnp.asarray(resample_matrix(images.shape[-3], size, kind))
  cols = jnp.asarray(resample_matrix(images.shape[-2], size, kind))
  return jnp.einsum('ih,...hwc,jw->...ijc', rows, images, cols)


@dataclasses.dataclass(frozen=True)
class KnownOperator:
  """Degradation (nam_jax/priors.py): HR [B, 64, 64, 3] -> LR [B, 16, 16, 3], nothing free."""

  kind: str
  size: int = 16
  noise_dim: int = 0

  def __call__(self, variables, hr: jax.Array, noise: jax.Array) -> jax.Array:
    del variables, noise
    return jnp.clip(resize(hr, self.size, self.kind), -1.0, 1.0)  # As PIL clips to uint8.


def loader(kind: str):
  """The registry's `load(ckpt_dir)` of operator `kind` (no checkpoint is read)."""
  def load(ckpt_dir=None) -> tuple[KnownOperator, dict, dict]:
    del ckpt_dir
    return KnownOperator(kind), {}, {'kind': 'operator', 'operator': kind}
  return load


load_bicubic = loader('bicubic')
load_bilinear = loader('bilinear')
load_area = loader('area')
