"""A small 64 px image head on MobileStyleGAN's features, and its checkpoint.

The export keeps only the 1024 px image head, and running the network to 1024 px costs about
15x what SR-NAM can afford per candidate-iteration on a CPU. The head ends on the 32 px level
and predicts the 12 Haar coefficients of a 64 px RGB image (as the network's own to-image
layers do), so one inverse Haar step gives 64 px:
  [fine-tuned copy of layer 2 (16 -> 32 px, modulated by w)], [x style], 1x1 conv 512 -> C,
  leaky ReLU, 3x3 conv C -> C, leaky ReLU, [x style], 1x1 conv C -> 12, inverse Haar.
The optional styles are per-channel scales, affine in w (as the network's own modulations):
colour and fine texture are set by the styles of the layers the head replaces, which a head
that only sees 32 px features has to guess.
With `block` the head starts from the 16 px features and carries its own copy of the 32 px
layer, initialised from the network and fine-tuned with it: the same cost per render as the
frozen-layer head, with the capacity of a whole styled layer. It is distilled
(nam_jax/stylegan/train_head.py) on faces the full network rendered.
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
BLOCK = 2                  # The layer a `block` head fine-tunes (16 -> 32 px).


# W+ rows the head's own modulations read: those of the 64 px layer and of the final
# to-image layer, which the cut-down synthesis does not use otherwise.
STYLE_ROWS = (12, 22)


@dataclasses.dataclass(frozen=True)
class HeadSpec:
  width: int
  block: bool = False
  modulated: bool = False   # Scale the head's inputs per channel by affine maps of w.

  @property
  def feature_level(self) -> int:
    """The synthesis level the head reads (2 = 16 px with its own layer 2, 3 = 32 px)."""
    return BLOCK if self.block else BLOCK + 1


class Head64(nn.Module):
  """Features of `spec.feature_level` [B, H, H, 512] and styles w -> RGB [B, 64, 64, 3]."""

  spec: HeadSpec

  @nn.compact
  def __call__(self, features: jax.Array, w: jax.Array) -> jax.Array:
    x = msg.layer(BLOCK, features, w) if self.spec.block else features
    width = self.spec.width
    if self.spec.modulated:
      x = x * _style(w, STYLE_ROWS[0], x.shape[-1], 'reduce_style')
    x = nn.leaky_relu(nn.Dense(width, name='reduce')(x), 0.2)
    x = nn.leaky_relu(layers.same_conv(width)(x), 0.2)
    if self.spec.modulated:
      x = x * _style(w, STYLE_ROWS[1], width, 'coeffs_style')
    coeffs = nn.Dense(12, name='to_coeffs')(x)
    return msg.inverse_haar(coeffs, 3)


def _style(w: jax.Array, row: int, channels: int, name: str) -> jax.Array:
  """Per-channel scales [B, 1, 1, C] from the style (row `row` of a W+ latent); starts at 1."""
  s = nn.Dense(channels, kernel_init=nn.initializers.zeros, bias_init=nn.initializers.ones,
               name=name)(msg.style_at(w, row))
  return s[:, None, None, :]


def features(synthesis_params, w: jax.Array, level: int) -> jax.Array:
  """The features of synthesis level `level` for styles w ([B, 512] or W+ [B, 23, 512])."""
  feats, _ = msg.Synthesis(levels=level, to_image=False).apply({'params': synthesis_params}, w)
  return feats[-1]


def render(spec: HeadSpec, head_params, synthesis_params, w: jax.Array) -> jax.Array:
  """64 px faces [B, 64, 64, 3] of styles w through the frozen synthesis and the head."""
  feats = features(synthesis_params, w, spec.feature_level)
  return Head64(spec).apply({'params': head_params}, feats, w)


def init(spec: HeadSpec, key: jax.Array, synthesis_params=None) -> dict:
  """Fresh head parameters. A `block` head's layer starts as the network's when
  synthesis_params is given (training starts from the frozen-layer network's features)."""
  level = spec.feature_level
  size = msg.resolution(level)
  params = layers.init_variables(Head64(spec), key, jnp.zeros((1, size, size, msg.WIDTHS[level])),
                                  jnp.zeros((1, msg.STYLE_DIM)))['params']
  if spec.block and synthesis_params is not None:
    params = {**params, **{n: synthesis_params[n] for n in msg.layer_names(BLOCK)}}
  return params


def export(spec: HeadSpec, params, out_dir, source: dict | None = None) -> pathlib.Path:
  meta = {'kind': KIND, 'width': spec.width, 'block': spec.block, 'modulated': spec.modulated,
          'feature_level': spec.feature_level, 'source': source or {}}
  return weights.save(out_dir, meta, {'params': params})


def load(ckpt_dir) -> tuple[HeadSpec, dict, dict]:
  """(spec, head params, model.json) of an exported head."""
  meta = weights.read_meta(pathlib.Path(ckpt_dir), KIND)
  spec = HeadSpec(meta['width'], bool(meta.get('block', False)),
                  bool(meta.get('modulated', False)))
  like = jax.eval_shape(lambda: init(spec, jax.random.key(0)))
  return spec, weights.restore(ckpt_dir, {'params': like})['params'], meta
