"""A small 64 px image head on MobileStyleGAN's 32 px features, and its checkpoint.

The export keeps only the 1024 px image head, and running the network to 1024 px costs about
15x what SR-NAM can afford per candidate-iteration on a CPU. The head reads the 512-channel
features of level 3 (32 px, after layer 2) and predicts the 12 Haar coefficients of a 64 px
RGB image (as the network's own to-image layers do), so one inverse Haar step gives 64 px:
  1x1 conv 512 -> C, leaky ReLU, 3x3 conv C -> C, leaky ReLU, 1x1 conv C -> 12, inverse Haar.
It is distilled (nam_jax/stylegan/train_head.py) on faces the full network rendered.
"""

from __future__ import annotations

import dataclasses
import pathlib

import flax.linen as nn
import jax
import jax.numpy as jnp

from nam_jax import layers, weights
from nam_jax.stylegan import model as msg

KIND = 'stylegan_head'
FEATURE_LEVEL = 3          # 32 px features (conv1 + layers 0..2).


class Head64(nn.Module):
  """32 px features [B, 32, 32, 512] -> RGB [B, 64, 64, 3] (about [-1, 1])."""

  width: int = 64

  @nn.compact
  def __call__(self, features: jax.Array) -> jax.Array:
    x = nn.leaky_relu(nn.Dense(self.width, name='reduce')(features), 0.2)
    x = nn.leaky_relu(layers.same_conv(self.width)(x), 0.2)
    coeffs = nn.Dense(12, name='to_coeffs')(x)
    return msg.inverse_haar(coeffs, 3)


@dataclasses.dataclass(frozen=True)
class HeadSpec:
  width: int


def features32(synthesis_params, w: jax.Array) -> jax.Array:
  """The level-3 (32 px) features of styles w ([B, 512] or W+ [B, 23, 512])."""
  feats, _ = msg.Synthesis(levels=FEATURE_LEVEL, to_image=False).apply(
      {'params': synthesis_params}, w)
  return feats[-1]


def export(spec: HeadSpec, params, out_dir, source: dict | None = None) -> pathlib.Path:
  meta = {'kind': KIND, 'width': spec.width, 'feature_level': FEATURE_LEVEL,
          'source': source or {}}
  return weights.save(out_dir, meta, {'params': params})


def load(ckpt_dir) -> tuple[HeadSpec, dict, dict]:
  """(spec, head params, model.json) of an exported head."""
  meta = weights.read_meta(pathlib.Path(ckpt_dir), KIND)
  spec = HeadSpec(meta['width'])
  like = jax.eval_shape(lambda: Head64(spec.width).init(
      jax.random.key(0), jnp.zeros((1, 32, 32, msg.WIDTHS[FEATURE_LEVEL]))))
  return spec, weights.restore(ckpt_dir, dict(like))['params'], meta
