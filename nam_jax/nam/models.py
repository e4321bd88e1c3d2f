"""The fixed networks of an SR-NAM job, loaded from its settings, and the search over a set of
inputs for either kind: one degradation (nam_jax/nam/chunks.py runs it), or a degradation that
picks one per input (a config block with `choices`, as auto does) and searches each group with
its pick.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import jax
import numpy as np

from nam_jax import priors
from nam_jax.nam import chunks, invert, sizes
from nam_jax.nam import settings as settings_lib
from nam_jax.nam.settings import Settings


@dataclasses.dataclass(frozen=True)
class Model:
  """The fixed networks of a job, their weights and their model.json records."""

  nets: invert.Networks
  prior_params: Any
  degradation_vars: Any
  prior_meta: dict
  degradation_meta: dict


@dataclasses.dataclass(frozen=True)
class AutoModel:
  """A degradation that picks one per input (a config block with `choices`, auto): one Model
  per choice, all with the same face prior, and the loaded chooser (its `choose(weights,
  lr_images, choices)`) with its weights."""

  models: dict
  chooser: Any
  chooser_weights: Any
  choices: tuple


def load_model(settings: Settings, prior: priors.Loaded | None = None) -> Model | AutoModel:
  """The face prior and degradation a job's settings name, from their checkpoints (`prior`:
  an already loaded face prior to reuse). 'auto' loads every degradation it chooses from and
  its chooser (settings.degradation_ckpt), each with its own settings (Settings.for_degradation:
  the face prior is loaded once per set of its own options)."""
  if settings.chooses:
    loaded = {} if prior is None else {prior.options: prior}
    models = {}
    for name, *_ in settings.choices:
      sub = settings.for_degradation(name)
      if sub.prior_options not in loaded:
        loaded[sub.prior_options] = _load_prior(sub)
      models[name] = load_model(sub, loaded[sub.prior_options])
    chooser = _load_degradation(settings)
    return AutoModel(models, chooser.model, chooser.weights,
                     tuple(name for name, *_ in settings.choices))
  prior = prior or _load_prior(settings)
  deg = _load_degradation(settings)
  return Model(invert.Networks(prior.model, deg.model), prior.weights, deg.weights,
               prior.meta, deg.meta)


def _load_prior(settings: Settings) -> priors.Loaded:
  return priors.load_prior(settings.prior_module, settings.prior_ckpt,
                           dict(settings.prior_options), settings.encoder_ckpt)


def load_degradation(nam_cfg, name: str, base_dir=None) -> priors.Loaded:
  """Degradation `name` of the config's nam.degradations, with its block's checkpoint
  (found from `base_dir` when not from the working directory) and own options."""
  block = settings_lib.degradation_block(nam_cfg, name)
  return priors.load_degradation(block['module'],
                                 settings_lib.resolve_path(block['ckpt'], base_dir),
                                 block['own'])


def _load_degradation(settings: Settings) -> priors.Loaded:
  return priors.load_degradation(settings.degradation_module, settings.degradation_ckpt,
                                 dict(settings.degradation_options))


def super_resolve(model: Model | AutoModel, lr_images: np.ndarray, settings: Settings,
                  devices=None) -> dict[str, np.ndarray]:
  """nam_jax.nam.chunks.super_resolve for either kind of model: with an AutoModel, each
  input's degradation is chosen first and the results also hold degradation [I] (the choice
  per input) and camera_probability [I]."""
  if isinstance(model, AutoModel):
    return _auto_super_resolve(model, lr_images, settings, devices)
  return chunks.super_resolve(model, lr_images, settings, devices)


def _auto_super_resolve(model: AutoModel, lr_images, settings: Settings, devices=None) -> dict:
  """Choose each input's degradation (the chooser, which reads 16 px faces: other sizes are
  shown to it reduced bicubically), then search each group of inputs with its choice. Adds
  `degradation` [I] and `camera_probability` [I]."""
  t0 = time.perf_counter()
  targets = chunks.checked_inputs(lr_images)
  seen = np.stack([_at_16(x) for x in targets])
  probability = model.chooser.probability(model.chooser_weights, seen)
  chosen = np.array(model.chooser.choose(model.chooser_weights, seen, model.choices))
  parts = []
  for name in model.choices:
    sel = np.nonzero(chosen == name)[0]
    if len(sel):
      parts.append((sel, chunks.super_resolve(model.models[name], sizes.take(targets, sel),
                                              settings.for_degradation(name), devices)))
  zs = [out['z'] for _, out in parts]
  if len({z.shape[2:] for z in zs}) > 1:  # W and W+ searches: one shape.
    layers = max(zs, key=np.ndim).shape[2:]
    for _, out in parts:
      if out['z'].ndim < len(layers) + 2:
        out['z'] = np.broadcast_to(out['z'][:, :, None], out['z'].shape[:2] + layers).copy()
  # Each degradation's free inputs have their own shape.
  merged = sizes.scatter(parts, len(chosen), skip=('seconds', 'noise'))
  merged['degradation'] = chosen
  merged['camera_probability'] = probability
  merged['seconds'] = time.perf_counter() - t0
  return merged


def _at_16(face: np.ndarray) -> np.ndarray:
  """A float face [s, s, 3] reduced (or enlarged) to 16 px, as the chooser was trained."""
  if face.shape[0] == 16:
    return face
  return np.asarray(jax.image.resize(face, (16, 16, 3), 'bicubic', antialias=True))
