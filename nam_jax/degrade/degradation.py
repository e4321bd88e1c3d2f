"""The trained High-to-Low network as SR-NAM's degradation, and its inference checkpoint."""

from __future__ import annotations

import dataclasses
import pathlib

import jax
import jax.numpy as jnp

from nam_jax import weights
from nam_jax.degrade import model

KIND = 'degrader'


@dataclasses.dataclass(frozen=True)
class LearnedDegradation:
  """Degradation (nam_jax/priors.py) of a trained degrader, in inference mode."""

  widths: tuple[int, ...]
  blocks_per_group: int
  noise_dim: int

  def __call__(self, variables, hr: jax.Array, noise: jax.Array) -> jax.Array:
    return model.degrade(model.Degrader(self.widths, self.blocks_per_group), variables, hr,
                         noise)


def export(degrade_cfg, params, batch_stats, out_dir, source: dict | None = None
           ) -> pathlib.Path:
  """Writes the degrader of a `config.degrade` as an inference checkpoint."""
  meta = {'kind': KIND, 'widths': list(degrade_cfg.gen_widths),
          'blocks_per_group': degrade_cfg.blocks_per_group,
          'noise_dim': degrade_cfg.noise_dim, 'source': source or {}}
  return weights.save(out_dir, meta, {'params': params, 'batch_stats': batch_stats})


def load(ckpt_dir) -> tuple[LearnedDegradation, dict, dict]:
  """(degradation, {'params', 'batch_stats'}, model.json) of an exported degrader."""
  ckpt_dir = pathlib.Path(ckpt_dir)
  meta = weights.read_meta(ckpt_dir, KIND)
  deg = LearnedDegradation(tuple(meta['widths']), meta['blocks_per_group'], meta['noise_dim'])
  net = model.Degrader(deg.widths, deg.blocks_per_group)
  like = jax.eval_shape(lambda: net.init(jax.random.key(0), jnp.zeros((1, 64, 64, 3)),
                                         jnp.zeros((1, deg.noise_dim))))
  return deg, weights.restore(ckpt_dir, dict(like)), meta
