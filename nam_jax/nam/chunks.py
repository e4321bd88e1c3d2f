"""Running SR-NAM on a set of LR faces: chunking, device sharding, progress, and results.

Candidates are the flat list of (image, seed) pairs. They are cut into chunks of at most
`max_batch` (a memory bound); every chunk is padded to the same size, so the program compiles
once per input shape, and each chunk's candidate axis is sharded over all devices.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import Any

import jax
import numpy as np
from tqdm import tqdm

from nam_jax import devices as xla_devices
from nam_jax import images, priors
from nam_jax.degrade import lr_kind
from nam_jax.nam import auto, invert, render, search
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
  """--degradation=auto: one Model per degradation auto chooses from (nam_jax/nam/auto.py),
  all with the same face prior, and the classifier that chooses."""

  models: dict
  classifier: Any


def load_model(settings: Settings, prior: priors.Loaded | None = None) -> Model | AutoModel:
  """The face prior and degradation a job's settings name, from their checkpoints (`prior`:
  an already loaded face prior to reuse). 'auto' loads every degradation it chooses from and
  its classifier (settings.auto_ckpt), each with its own settings (Settings.for_degradation:
  the face prior is loaded once per set of its own options)."""
  if settings.degradation == 'auto':
    loaded = {} if prior is None else {prior.options: prior}
    models = {}
    for name in auto.CHOICES:
      sub = settings.for_degradation(name)
      if sub.prior_options not in loaded:
        loaded[sub.prior_options] = _load_prior(sub)
      models[name] = load_model(sub, loaded[sub.prior_options])
    return AutoModel(models, lr_kind.load(settings.auto_ckpt))
  prior = prior or _load_prior(settings)
  deg = priors.load_degradation(settings.degradation, settings.degradation_ckpt)
  return Model(invert.Networks(prior.model, deg.model), prior.weights, deg.weights,
               prior.meta, deg.meta)


def _load_prior(settings: Settings) -> priors.Loaded:
  return priors.load_prior(settings.prior_module, settings.prior_ckpt,
                           dict(settings.prior_options))


def _auto_super_resolve(model: AutoModel, lr_images: np.ndarray, settings: Settings,
                        devices=None) -> dict:
  """Choose each input's degradation (auto.choose on the classifier's camera probability),
  then search each group of inputs with its choice. Adds `degradation` [I] and
  `camera_probability` [I]."""
  t0 = time.perf_counter()
  targets = images.as_float(lr_images)
  probability = lr_kind.camera_probability(model.classifier, targets)
  chosen = np.array(auto.choose(probability))
  merged: dict = {}
  for name in auto.CHOICES:
    sel = np.nonzero(chosen == name)[0]
    if not len(sel):
      continue
    part = super_resolve(model.models[name], targets[sel], settings.for_degradation(name),
                         devices)
    for k, v in part.items():
      if k in ('seconds', 'noise'):  # Each degradation's free inputs have their own shape.
        continue
      if k == 'z' and k in merged and merged[k].shape[2:] != v.shape[2:]:
        merged[k], v = _as_per_layer(merged[k], v)
      if k not in merged:
        merged[k] = np.zeros((len(targets),) + v.shape[1:], v.dtype)
      merged[k][sel] = v
  merged['degradation'] = chosen
  merged['camera_probability'] = probability
  merged['seconds'] = time.perf_counter() - t0
  return merged


def _as_per_layer(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """Latents of W ([I, S, D]) and W+ ([I, S, L, D]) searches in one shape: a W latent is
  the W+ latent with the same style at every layer."""
  if a.ndim < b.ndim:
    a = np.broadcast_to(a[:, :, None], a.shape[:2] + b.shape[2:]).copy()
  else:
    b = np.broadcast_to(b[:, :, None], b.shape[:2] + a.shape[2:]).copy()
  return a, b


def chunk_size(num_candidates: int, max_batch: int, num_devices: int) -> int:
  """The chunk size: as few chunks as max_batch allows, as even as possible (80 candidates
  at max_batch 64 run as two chunks of 40, not 64 and 16 padded to 64), rounded up to a
  multiple of the devices (and down to max_batch's)."""
  chunks = -(-num_candidates // max(max_batch, 1))
  size = -(-num_candidates // max(chunks, 1))
  size = -(-size // num_devices) * num_devices
  limit = max(num_devices, (max_batch // num_devices) * num_devices)
  return max(num_devices, min(size, limit))


def super_resolve(model: Model | AutoModel, lr_images: np.ndarray, settings: Settings,
                  devices=None) -> dict[str, np.ndarray]:
  """Optimises `settings.seeds` candidates for every LR image.

  Args:
    lr_images: uint8 [I, 16, 16, 3] (or float in [-1, 1]).
    settings: uses options, seeds, rng_seed and max_batch.
    devices: devices to shard each chunk over (default: all).
  Returns:
    numpy arrays with leading axes [I, S]: hr [.., 64, 64, 3] and lr [.., 16, 16, 3] in
    [-1, 1], loss (final LR L1), history [.., steps], z, noise (the degradation's fitted
    free inputs); with settings.size > 64 and a prior that renders larger, also hr_large,
    render_psnr and render_lr_l1 (nam/render.py); plus seconds (wall time). With an AutoModel also degradation [I] (the
    choice per input) and camera_probability [I].
  """
  opts, seeds = settings.options, settings.seeds
  lr_images = images.as_float(lr_images)
  if lr_images.ndim != 4 or lr_images.shape[1:] != (16, 16, 3):
    raise ValueError(f'LR inputs must be [N, 16, 16, 3], got {lr_images.shape}')
  if not np.all(np.isfinite(lr_images)):
    raise ValueError('LR inputs contain NaN or infinite values')
  if isinstance(model, AutoModel):
    return _auto_super_resolve(model, lr_images, settings, devices)
  n_img = lr_images.shape[0]
  devices = list(devices or jax.devices())
  image_index = np.repeat(np.arange(n_img), seeds)
  seed_index = np.tile(np.arange(seeds), n_img)
  total = len(image_index)
  size = chunk_size(total, settings.max_batch, len(devices))
  mesh = xla_devices.batch_mesh(size, devices)  # All of them: size divides over them.
  shard = xla_devices.sharded(mesh)
  replicated = xla_devices.replicated(mesh)
  prior_params = jax.device_put(model.prior_params, replicated)
  degradation_vars = jax.device_put(model.degradation_vars, replicated)
  keys_all = jax.vmap(lambda s: invert.candidate_key(settings.rng_seed, s))(np.arange(seeds))
  results = []
  t0 = time.perf_counter()
  starts = range(0, total, size)
  bar = tqdm(total=len(starts) * opts.steps, unit='it', desc='compile', disable=not opts.progress)
  lock = threading.Lock()
  for chunk, start in enumerate(starts):
    idx = np.arange(start, start + size)
    idx = np.minimum(idx, total - 1)  # Pad the last chunk by repeating its last candidate.
    keys = jax.device_put(keys_all[seed_index[idx]], shard)
    targets = jax.device_put(lr_images[image_index[idx]], shard)

    def on_step(i, done=chunk * opts.steps, chunk=chunk):
      with lock:  # Each device reports every iteration; count each one once.
        if done + i + 1 > bar.n:
          bar.set_description(f'optimise chunk {chunk + 1}/{len(starts)}', refresh=False)
          bar.update(done + i + 1 - bar.n)

    with search.watch(on_step):
      out = jax.device_get(search.run(keys, targets, prior_params, degradation_vars,
                                      nets=model.nets, opts=opts))
    n_real = min(size, total - start)
    results.append({k: np.asarray(v)[:n_real] for k, v in out.items()})
  bar.close()
  merged = {k: np.concatenate([r[k] for r in results]) for k in results[0]}
  out = {k: v.reshape((n_img, seeds) + v.shape[1:]) for k, v in merged.items()}
  if settings.size != 64 and render.can_render(model.nets.prior):
    out.update(render.render_large(model, out, lr_images, settings.size,
                                   progress=opts.progress))
  out['seconds'] = time.perf_counter() - t0
  return out
