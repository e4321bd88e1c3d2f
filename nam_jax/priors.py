"""What SR-NAM inference needs from its two fixed networks, and where to find them by name.

Inference (nam_jax/nam/) works with any face prior and any degradation through the two small
interfaces below and never imports a model family. A model family implements an interface in
its own package and is listed in the registry by module path; `load_prior` and
`load_degradation` import it on first use.

Implementations are frozen dataclasses that hold only static information (widths, latent
size): they are hashable and serve as static arguments of the compiled program. Weights
travel separately as pytrees.
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any, Protocol

import jax

# name -> module with `load(ckpt_dir) -> (model, weights, meta)`.
PRIORS = {'progan': 'nam_jax.progan.prior', 'stylegan': 'nam_jax.stylegan.prior'}
# A value 'module:function' names the loader when a module holds several.
DEGRADATIONS = {'h2l': 'nam_jax.degrade.degradation',
                'bicubic': 'nam_jax.degrade.operators:load_bicubic',
                'bilinear': 'nam_jax.degrade.operators:load_bilinear',
                'area': 'nam_jax.degrade.operators:load_area',
                'camera': 'nam_jax.degrade.camera'}


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

  # Optional: render(params, latents, size) -> faces [B, size, size, 3] for a prior that can
  # render its final candidates larger than the 64 px it is searched at (nam/render.py).


class Degradation(Protocol):
  """HR faces [B, 64, 64, 3] + noise [B, noise_dim] -> LR faces [B, 16, 16, 3] in [-1, 1].

  The noise is the degradation's free input: a learned network's noise vector, or a camera's
  parameters (nam_jax/degrade/camera.py); SR-NAM can optimise it per candidate."""

  @property
  def noise_dim(self) -> int:
    """Size of the noise vector of one image (0: nothing free, e.g. a known operator). A
    degradation may also set `noise_init_scale` (default 1), the standard deviation of the
    noise SR-NAM starts an optimised noise from, and `noise_lr_scale` (default 1), the
    noise's Adam step relative to the latent's."""

  def __call__(self, variables: Any, hr: jax.Array, noise: jax.Array) -> jax.Array:
    ...


# Priors whose SR-NAM program runs faster on a CPU with XLA's default YNNPACK convolutions
# than with XLA's own: the StyleGAN prior's separable and modulated convolutions (46.8 vs
# 59.3 ms per candidate-iteration at 16 seeds, 42.2 vs 65.1 at 64; docs/benchmarks.md).
# infer.py and evaluate.py keep YNNPACK on for them (nam_jax.devices).
YNNPACK_PRIORS = frozenset({'stylegan'})


@dataclasses.dataclass(frozen=True)
class Loaded:
  """A network ready for inference: its static model, its weights and its model.json."""

  model: Any
  weights: Any
  meta: dict


def _load(registry: dict[str, str], what: str, name: str, ckpt_dir, **options) -> Loaded:
  if name not in registry:
    raise ValueError(f'unknown {what} {name!r}; known: {", ".join(sorted(registry))}')
  module, _, function = registry[name].partition(':')
  return Loaded(*getattr(importlib.import_module(module), function or 'load')(ckpt_dir,
                                                                             **options))


def load_prior(name: str, ckpt_dir, w_plus: bool = False) -> Loaded:
  """The face prior `name` (a key of PRIORS) from its exported checkpoint; `w_plus`: search
  one style per modulation (priors without such a space refuse it)."""
  return _load(PRIORS, 'face prior', name, ckpt_dir, w_plus=w_plus)


def load_degradation(name: str, ckpt_dir) -> Loaded:
  """The degradation `name` (a key of DEGRADATIONS) from its exported checkpoint."""
  return _load(DEGRADATIONS, 'degradation', name, ckpt_dir)
