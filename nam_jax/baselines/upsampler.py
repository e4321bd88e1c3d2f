"""A trained baseline super-resolution network for inference, and its checkpoint.

model.json records which network ('l2h' or 'urdgn') and its widths; the same `load` serves
both. `upsample` maps LR faces to HR faces in one jitted call.
"""

from __future__ import annotations

import dataclasses
import functools
import pathlib

import jax
import jax.numpy as jnp
import numpy as np

from nam_jax import images, weights
from nam_jax.baselines import models

KIND = 'upsampler'


@dataclasses.dataclass(frozen=True)
class Upsampler:
  """A deterministic 16 -> 64 network: which one and its static shape."""

  network: str                 # 'l2h' | 'urdgn'
  widths: tuple[int, ...]
  blocks: tuple[int, ...] = ()

  def module(self):
    if self.network == 'l2h':
      return models.LowToHigh(self.widths, self.blocks)
    if self.network == 'urdgn':
      return models.URDGN(self.widths)
    raise ValueError(f'unknown upsampler network {self.network!r}')

  def __call__(self, variables, lr_images: jax.Array) -> jax.Array:
    return self.module().apply(variables, lr_images, train=False)


def from_config(network: str, cfg) -> Upsampler:
  return Upsampler(network, tuple(cfg.widths), tuple(cfg.get('blocks', ())))


def export(upsampler: Upsampler, variables, out_dir, source: dict | None = None
           ) -> pathlib.Path:
  meta = {'kind': KIND, 'network': upsampler.network, 'widths': list(upsampler.widths),
          'blocks': list(upsampler.blocks), 'source': source or {}}
  return weights.save(out_dir, meta, dict(variables))


def load(ckpt_dir) -> tuple[Upsampler, dict, dict]:
  """(upsampler, variables, model.json) of an exported baseline."""
  meta = weights.read_meta(pathlib.Path(ckpt_dir), KIND)
  up = Upsampler(meta['network'], tuple(meta['widths']), tuple(meta['blocks']))
  like = jax.eval_shape(lambda: up.module().init(jax.random.key(0), jnp.zeros((1, 16, 16, 3))))
  return up, weights.restore(ckpt_dir, dict(like)), meta


@functools.partial(jax.jit, static_argnames='upsampler')
def _apply(variables, lr_images, upsampler):
  return upsampler(variables, lr_images)


def upsample(upsampler: Upsampler, variables, lr_images: np.ndarray, batch: int = 64
             ) -> np.ndarray:
  """HR faces [N, 64, 64, 3] in [-1, 1] of LR faces (uint8, or float in [-1, 1])."""
  x = images.as_float(lr_images)
  return np.concatenate([np.asarray(_apply(variables, jnp.asarray(x[i:i + batch]), upsampler))
                         for i in range(0, len(x), batch)])
