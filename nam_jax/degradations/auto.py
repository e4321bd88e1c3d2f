"""--degradation=auto: per input, the degradation that made it.

SR-NAM needs a degradation that can map the true face onto the input (nam_jax/eval/reach.py).
Two cover the inputs nam_jax meets: plain bicubic downsampling (no freedom: the most
constrained search, right for images shrunk by software) and the blind camera model
(nam_jax/degradations/camera.py: colour, gamma and blur fitted per candidate, right for photos
from a camera). The camera can explain anything bicubic can, so the search's residual cannot
choose between them (a probe that compared short searches with each chose right for only 83%
of synthetic inputs). auto reads the input instead: a small classifier (LrKind below; three
3x3 convolutions and a dense layer, ~43k weights, trained on synthetic faces only by
nam_jax/degrade/lr_kind.py) reads the traces a camera leaves and software shrinking does not
(blur, sensor noise, JPEG blocks, colour casts) and gives the probability that a camera made
the input; the general choice (the camera model) is used when it is at least THRESHOLD. Which
two it picks from is its config block's `choices` (configs/common.py, nam.degradations.auto).
"""

from __future__ import annotations

import dataclasses
import pathlib

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from nam_jax import images, weights

THRESHOLD = 0.5


KIND = 'lr_kind'
WIDTHS = (32, 48, 64)


class LrKind(nn.Module):
  """LR faces [B, 16, 16, 3] in [-1, 1] -> logit that a camera made them [B]."""

  @nn.compact
  def __call__(self, x):
    # The input's own high frequencies carry the traces; keep them beside the image.
    blur = (x + jnp.roll(x, 1, 1) + jnp.roll(x, -1, 1) + jnp.roll(x, 1, 2) +
            jnp.roll(x, -1, 2)) / 5.0
    x = jnp.concatenate([x, x - blur], axis=-1)
    for i, w in enumerate(WIDTHS):
      x = nn.leaky_relu(nn.Conv(w, (3, 3))(x), 0.2)
      if i:
        x = nn.avg_pool(x, (2, 2), (2, 2))
    x = jnp.concatenate([jnp.mean(x, axis=(1, 2)), jnp.std(x, axis=(1, 2))], axis=-1)
    return nn.Dense(1)(x)[:, 0]


def camera_probability(params, lr_images: np.ndarray) -> np.ndarray:
  """P(camera-made) [N] of LR faces (uint8 or float in [-1, 1])."""
  return np.asarray(jax.nn.sigmoid(_apply(params, jnp.asarray(images.as_float(lr_images)))))


@jax.jit
def _apply(params, x):
  return LrKind().apply({'params': params}, x)


@dataclasses.dataclass(frozen=True)
class Chooser:
  """The loaded `auto` degradation: it does not degrade, it picks a degradation per input."""

  threshold: float = THRESHOLD

  def probability(self, params, lr_images: np.ndarray) -> np.ndarray:
    """P(the general choice) [N]: the probability that a camera made each input."""
    return camera_probability(params, lr_images)

  def choose(self, params, lr_images: np.ndarray, choices: tuple[str, str]) -> list[str]:
    """The degradation of each input, of choices = (simple, general): the general one where a
    camera probably made it."""
    return [choices[1] if p >= self.threshold else choices[0]
            for p in camera_probability(params, lr_images)]


def load(ckpt_dir) -> tuple[Chooser, dict, dict]:
  """(chooser, classifier params, model.json) of an exported classifier."""
  ckpt_dir = pathlib.Path(ckpt_dir)
  meta = weights.read_meta(ckpt_dir, KIND)
  like = jax.eval_shape(lambda: LrKind().init(jax.random.key(0),
                                             jnp.zeros((1, 16, 16, 3)))['params'])
  return Chooser(), weights.restore(ckpt_dir, like), meta
