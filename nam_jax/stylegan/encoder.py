"""An encoder from a 16x16 LR face to the StyleGAN prior's style and the camera that made it.

SR-NAM's search starts each candidate blind (a random style, or the closest of a pool) and is
still descending at its last step. The encoder gives it a start near the answer: a small
convolutional network reads the LR face and predicts the style w [512] (as an offset from the
mean style, in units of the mapped styles' typical radius) and the raw camera vector
[camera.NUM_PARAMS] of nam_jax/degradations/camera.py. It is trained on the prior's own faces
(nam_jax/stylegan/train_encoder.py): style -> 64 px head face -> a degradation drawn from a
family of them -> LR input, so no face dataset is needed.

One prediction is one answer; SR-NAM wants many. `starts` gives K: the prediction itself and
K-1 draws around it with the spread measured on held-out faces (the per-dimension standard
deviation of the true style about the prediction, stored with the weights), so the candidates
explore where the encoder is unsure. A W+ search starts from the style repeated per row, as its
random starts do.

  python train.py --stage=encoder --config=configs/cpu.py --workdir=runs/encoder
"""

from __future__ import annotations

import dataclasses
import pathlib

import flax.linen as nn
import jax
import jax.numpy as jnp

from nam_jax import layers, weights
from nam_jax.degradations import camera
from nam_jax.stylegan import model as msg

KIND = 'stylegan_encoder'


@dataclasses.dataclass(frozen=True)
class EncoderSpec:
  widths: tuple[int, ...] = (64, 128, 256)  # Per level: 16, 8, 4 px.
  dense: int = 512


class Encoder(nn.Module):
  """LR faces [B, 16, 16, 3] in [-1, 1] -> (style offset [B, 512] in radius units,
  raw camera [B, camera.NUM_PARAMS])."""

  spec: EncoderSpec

  @nn.compact
  def __call__(self, lr: jax.Array) -> tuple[jax.Array, jax.Array]:
    x = lr
    for level, width in enumerate(self.spec.widths):
      if level:
        x = layers.avg_pool(x)
      x = nn.leaky_relu(layers.same_conv(width)(x), 0.2)
      x = nn.leaky_relu(layers.same_conv(width)(x), 0.2)
    x = nn.leaky_relu(nn.Dense(self.spec.dense)(x.reshape(x.shape[0], -1)), 0.2)
    style = nn.Dense(msg.STYLE_DIM, kernel_init=nn.initializers.zeros, name='style')(x)
    cam = nn.Dense(camera.NUM_PARAMS, kernel_init=nn.initializers.zeros, name='camera')(x)
    return style, cam


def init(spec: EncoderSpec, key: jax.Array) -> dict:
  return layers.init_variables(Encoder(spec), key, jnp.zeros((1, 16, 16, 3)))['params']


def predict(spec: EncoderSpec, params, w_mean: jax.Array, w_radius: jax.Array,
            lr: jax.Array) -> tuple[jax.Array, jax.Array]:
  """(styles [B, 512], raw cameras [B, NUM_PARAMS]) of LR faces [B, 16, 16, 3]."""
  offset, cam = Encoder(spec).apply({'params': params}, lr)
  return w_mean + w_radius * offset / jnp.sqrt(msg.STYLE_DIM), cam


def starts(style: jax.Array, spread: jax.Array, key: jax.Array, k: int,
           scale: float = 1.0) -> jax.Array:
  """K starting styles [K, 512] around one prediction [512]: the prediction first, then draws
  from N(style, (scale * spread)^2) per dimension."""
  noise = jax.random.normal(key, (k, style.shape[-1])) * (scale * spread)
  return style + noise.at[0].set(0.0)


def export(spec: EncoderSpec, params, spread: jax.Array, out_dir, source: dict | None = None
           ) -> pathlib.Path:
  meta = {'kind': KIND, 'widths': list(spec.widths), 'dense': spec.dense,
          'source': source or {}}
  return weights.save(out_dir, meta, {'params': params, 'spread': spread})


def load(ckpt_dir) -> tuple[EncoderSpec, dict, dict]:
  """(spec, {'params', 'spread'}, model.json) of an exported encoder."""
  meta = weights.read_meta(pathlib.Path(ckpt_dir), KIND)
  spec = EncoderSpec(tuple(meta['widths']), meta['dense'])
  like = {'params': jax.eval_shape(lambda: init(spec, jax.random.key(0))),
          'spread': jax.ShapeDtypeStruct((msg.STYLE_DIM,), jnp.float32)}
  return spec, weights.restore(ckpt_dir, like), meta
