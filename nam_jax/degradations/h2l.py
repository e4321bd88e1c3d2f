"""The trained High-to-Low network (SR-NAM 3.2) as SR-NAM's `h2l` degradation: the degrader
network, its inference pass and its checkpoint (its training: nam_jax/degrade/)."""

from __future__ import annotations

import dataclasses
import pathlib
from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from nam_jax import layers, weights

KIND = 'degrader'


class Degrader(nn.Module):
  """Encoder-decoder ResNet generator.

  6 groups of pre-activation residual blocks: after each of the first four the resolution is
  halved by average pooling (64 -> 4), after each of the last two it is doubled by pixel
  shuffle (4 -> 16). The noise vector is projected by a dense layer to one 64x64 channel and
  concatenated to the HR image. Output in [-1, 1] (tanh).
  """

  widths: Sequence[int] = (96, 128, 256, 512, 256, 128)
  blocks_per_group: int = 2

  @nn.compact
  def __call__(self, hr: jax.Array, noise: jax.Array, train: bool = False) -> jax.Array:
    if hr.shape[1:] != (64, 64, 3):
      raise ValueError(f'Degrader expects HR images [B, 64, 64, 3], got {hr.shape}')
    if len(self.widths) != 6:
      raise ValueError(f'Degrader needs 6 group widths, got {self.widths}')
    b = hr.shape[0]
    noise_map = nn.Dense(64 * 64, name='noise_proj')(noise).reshape(b, 64, 64, 1)
    x = layers.same_conv(self.widths[0])(jnp.concatenate([hr, noise_map], -1))
    for g, width in enumerate(self.widths):
      for _ in range(self.blocks_per_group):
        x = layers.PreActBlock(width, batch_norm=True)(x, train)
      if g < 4:
        x = layers.avg_pool(x)
      else:
        x = layers.pixel_shuffle(layers.same_conv(4 * width)(x))
    x = nn.relu(nn.BatchNorm(use_running_average=not train, momentum=0.9)(x))
    return jnp.tanh(layers.same_conv(3)(x))


def degrade(net: Degrader, variables, hr: jax.Array, noise: jax.Array) -> jax.Array:
  """Inference-mode forward pass: LR faces [B, 16, 16, 3] of HR faces and noise vectors."""
  return net.apply(variables, hr, noise, train=False)


@dataclasses.dataclass(frozen=True)
class LearnedDegradation:
  """Degradation (nam_jax/priors.py) of a trained degrader, in inference mode."""

  widths: tuple[int, ...]
  blocks_per_group: int
  noise_dim: int

  def __call__(self, variables, hr: jax.Array, noise: jax.Array) -> jax.Array:
    return degrade(Degrader(self.widths, self.blocks_per_group), variables, hr, noise)


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
  net = Degrader(deg.widths, deg.blocks_per_group)
  like = jax.eval_shape(lambda: net.init(jax.random.key(0), jnp.zeros((1, 64, 64, 3)),
                                         jnp.zeros((1, deg.noise_dim))))
  return deg, weights.restore(ckpt_dir, dict(like)), meta
