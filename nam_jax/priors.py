"""What SR-NAM inference needs from its two fixed networks, and where to find them by name.

Inference (nam_jax/nam/) works with any face prior and any degradation through the two small
interfaces below and never imports a model family. A model family implements an interface in
its own package. A face prior is registered by one block of the config (`nam.priors.NAME`:
its module, checkpoint, solver defaults, XLA preference and its own options; configs/common.py),
a degradation in DEGRADATIONS below; `load_prior` and `load_degradation` import the module on
first use.

Implementations are frozen dataclasses that hold only static information (widths, latent
size): they are hashable and serve as static arguments of the compiled program. Weights
travel separately as pytrees.
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # Types only: the flags are checked before JAX is imported.
  import jax

# name -> module with `load(ckpt_dir) -> (model, weights, meta)`; a value 'module:function'
# names the loader when a module holds several.
DEGRADATIONS = {'h2l': 'nam_jax.degrade.degradation',
                'bicubic': 'nam_jax.degrade.operators:load_bicubic',
                'bilinear': 'nam_jax.degrade.operators:load_bilinear',
                'area': 'nam_jax.degrade.operators:load_area',
                'camera': 'nam_jax.camera.model'}


class FacePrior(Protocol):
  """A face generator searched by SR-NAM: latents -> 64x64 faces."""

  @property
  def latent_shape(self) -> tuple[int, ...]:
    """Shape of one candidate's latent."""

  def initial_latent(self, params: Any, key: jax.Array) -> jax.Array:
    """A random starting latent of one candidate, drawn from `key`."""

  def generate(self, params: Any, latents: jax.Array) -> jax.Array:
    """Faces [B, 64, 64, 3], about [-1, 1], of latents [B, *latent_shape]."""

  def project(self, params: Any, latent: jax.Array) -> jax.Array:
    """The latent moved back onto the set the prior was trained on (e.g. a sphere)."""

  def mean_latent(self, params: Any) -> jax.Array:
    """The latent of the average face (the target of a mean-latent pull)."""

  # Optional: penalty(params, latent) -> a scalar added to one candidate's loss, or None for
  # no term (decided at trace time, e.g. from the prior's own options).

  # Optional: render(params, latents, size) -> faces [B, size, size, 3] for a prior that can
  # render its final candidates larger than the 64 px it is searched at (nam/render.py).


class Degradation(Protocol):
  """HR faces [B, 64, 64, 3] + noise [B, noise_dim] -> LR faces [B, 16, 16, 3] in [-1, 1].

  The noise is the degradation's free input: a learned network's noise vector, or a camera's
  parameters (nam_jax/camera/model.py); SR-NAM can optimise it per candidate."""

  @property
  def noise_dim(self) -> int:
    """Size of the noise vector of one image (0: nothing free, e.g. a known operator). A
    degradation may also set `noise_init_scale` (default 1), the standard deviation of the
    noise SR-NAM starts an optimised noise from, and `noise_lr_scale` (default 1), the
    noise's Adam step relative to the latent's."""

  def __call__(self, variables: Any, hr: jax.Array, noise: jax.Array) -> jax.Array:
    ...

  # Optional: penalty(noise [noise_dim]) -> a scalar prior on one image's free inputs, weighed
  # by the search's noise_prior option (the camera model: how real cameras behave).


@dataclasses.dataclass(frozen=True)
class Loaded:
  """A network ready for inference: its static model, its weights and its model.json."""

  model: Any
  weights: Any
  meta: dict
  options: tuple = ()  # A face prior's own options it was loaded with, as sorted pairs.


def _call(target: str, ckpt_dir, **options):
  module, _, function = target.partition(':')
  return getattr(importlib.import_module(module), function or 'load')(ckpt_dir, **options)


def load_prior(module: str, ckpt_dir, options: dict | None = None) -> Loaded:
  """The face prior of `module` ('package.module' or 'package.module:function', a config
  block's `module`) from its exported checkpoint, built with its own `options`."""
  options = dict(options or {})
  return Loaded(*_call(module, ckpt_dir, **options), options=tuple(sorted(options.items())))


def load_degradation(name: str, ckpt_dir) -> Loaded:
  """The degradation `name` (a key of DEGRADATIONS) from its exported checkpoint."""
  if name not in DEGRADATIONS:
    raise ValueError(f'unknown degradation {name!r}; known: {", ".join(sorted(DEGRADATIONS))}')
  return Loaded(*_call(DEGRADATIONS[name], ckpt_dir))
