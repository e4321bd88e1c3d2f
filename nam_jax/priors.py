"""What SR-NAM inference needs from its face prior, and how both fixed networks are loaded.

Inference (nam_jax/nam/) works with any face prior and any degradation through two small
interfaces (FacePrior below; Degradation in nam_jax/degradations/__init__.py) and never imports
a model family. A model family implements an interface in its own package and is registered by
one block of the config (`nam.priors.NAME`: its module, checkpoint, solver defaults, XLA
preference and own options; `nam.degradations.NAME`: its module, checkpoint and own options;
configs/common.py); `load_prior` and `load_degradation` import the module on first use, by one
code path.

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

  # Optional, for a prior with an LR-face encoder (`encodes` True): encode(params, target) ->
  # (centre, raw camera) of one LR face [16, 16, 3], and draw_near(params, centre, key, scale)
  # -> a starting latent drawn around the centre (nam_jax/nam/invert.initial_latents).

  # Optional: render(params, latents, size) -> faces [B, size, size, 3] for a prior that can
  # render its final candidates larger than the 64 px it is searched at (nam/render.py).


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


def load_prior(module: str, ckpt_dir, options: dict | None = None, encoder_ckpt: str = ''
               ) -> Loaded:
  """The face prior of `module` ('package.module' or 'package.module:function', a config
  block's `module`) from its exported checkpoint, built with its own `options`; with
  `encoder_ckpt`, also its LR-face encoder (the loader's encoder_ckpt argument)."""
  options = dict(options or {})
  extra = {'encoder_ckpt': encoder_ckpt} if encoder_ckpt else {}
  return Loaded(*_call(module, ckpt_dir, **options, **extra),
                options=tuple(sorted(options.items())))


def load_degradation(module: str, ckpt_dir, options: dict | None = None) -> Loaded:
  """The degradation of `module` (a config block's `module`, nam.degradations.NAME) from its
  exported checkpoint ('' or None: it has none), built with its own `options`; the same path
  as a face prior's (nam_jax/degradations/__init__.py: what a degradation implements)."""
  return load_prior(module, ckpt_dir or None, options)
