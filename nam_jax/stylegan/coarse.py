"""A coarse render for the search's first steps: 16 px features -> a 32 px face, enlarged to 64.

The 64 px head (nam_jax/stylegan/head.py) spends most of a candidate-iteration in its copy of
the network's 16 -> 32 px layer (a 512 -> 512 pointwise convolution over 32 x 32 pixels). The
LR input is 16 px, so the search's loss sees the face only through a 4x reduction: while a
candidate is still far from the input, a face that is right at 32 px serves as well. This
head reads the same 16 px features, predicts the 12 Haar coefficients of a 32 px RGB face at
16 px with the 64 px head's own layers (style-modulated 1x1 conv 512 -> C, leaky ReLU, 3x3
conv C -> C, leaky ReLU, style scale, 1x1 conv C -> 12, inverse Haar; without its copy of the
32 px layer), and the face is enlarged to 64 px bicubically so every
degradation reads it unchanged. In W+ its first modulation reads the mean of the rows the
head's layers read beyond the 16 px features (`styles_read`). It is distilled (nam_jax/stylegan/train_coarse.py) from the
64 px head it stands in for, and ships inside that head's checkpoint (`coarse/`).
"""

from __future__ import annotations

import dataclasses
import pathlib

import jax
import jax.numpy as jnp

from nam_jax import layers, weights
from nam_jax.stylegan import head, model as msg

KIND = 'stylegan_coarse'
FOLDER = 'coarse'          # Inside the 64 px head's checkpoint.
LEVEL = head.BLOCK         # The 16 px features (synthesis level 2).
SIZE = 32                  # The coarse face's own size.


@dataclasses.dataclass(frozen=True)
class CoarseSpec:
  width: int

  @property
  def head_spec(self) -> head.HeadSpec:
    """The layers: the 64 px head's own (style-modulated, no copy of the 32 px layer), which
    double whatever resolution they read: from the 16 px features, a 32 px face."""
    return head.HeadSpec(self.width, block=False, modulated=True)


# The W+ rows the 64 px head reads beyond the 16 px features, but for the to-image row: its
# copy of the 32 px layer's (7, 8, 9) and its first modulation's.
HEAD_ROWS = tuple(range(3 * head.BLOCK + 1, 3 * head.BLOCK + 4)) + (head.STYLE_ROWS[0],)


def styles_read(w: jax.Array) -> jax.Array:
  """The styles the coarse head reads: for a W+ latent, the 64 px head's first modulation row
  holds the mean of HEAD_ROWS (a face's colour and texture are set there, and the coarse head
  has one modulation to the head's four); W styles as they are."""
  if w.ndim == 2:
    return w
  return w.at[:, head.STYLE_ROWS[0]].set(jnp.mean(w[:, HEAD_ROWS], axis=1))


def render32(spec: CoarseSpec, params, synthesis_params, w: jax.Array) -> jax.Array:
  """32 px faces [B, 32, 32, 3] of styles w."""
  return head.Head64(spec.head_spec).apply(
      {'params': params}, head.features(synthesis_params, w, LEVEL), styles_read(w))


def enlarge(face32: jax.Array) -> jax.Array:
  """[B, 32, 32, 3] -> [B, 64, 64, 3], bicubic: the size every degradation reads."""
  b, _, _, c = face32.shape
  return jax.image.resize(face32, (b, 64, 64, c), 'bicubic')


def render(spec: CoarseSpec, params, synthesis_params, w: jax.Array) -> jax.Array:
  """64 px faces [B, 64, 64, 3] of styles w through the coarse head (32 px, enlarged)."""
  return enlarge(render32(spec, params, synthesis_params, w))


def init(spec: CoarseSpec, key: jax.Array) -> dict:
  size = msg.resolution(LEVEL)
  return layers.init_variables(head.Head64(spec.head_spec), key,
                               jnp.zeros((1, size, size, msg.WIDTHS[LEVEL])),
                               jnp.zeros((1, msg.STYLE_DIM)))['params']


def export(spec: CoarseSpec, params, out_dir, source: dict | None = None) -> pathlib.Path:
  return weights.save(out_dir, {'kind': KIND, 'width': spec.width, 'source': source or {}},
                      {'params': params})


def load(ckpt_dir) -> tuple[CoarseSpec, dict, dict]:
  """(spec, params, model.json) of an exported coarse head."""
  meta = weights.read_meta(pathlib.Path(ckpt_dir), KIND)
  spec = CoarseSpec(int(meta['width']))
  like = jax.eval_shape(lambda: init(spec, jax.random.key(0)))
  return spec, weights.restore(ckpt_dir, {'params': like})['params'], meta
