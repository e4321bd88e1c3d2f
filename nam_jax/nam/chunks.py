"""Running SR-NAM with one degradation on a set of LR faces: chunking, device sharding, progress.

Candidates are the flat list of (image, seed) pairs. They are cut into chunks of at most
`max_batch` (a memory bound); every chunk is padded to the same size, so the program compiles
once per input shape, and each chunk's candidate axis is sharded over all devices.
"""

from __future__ import annotations

import dataclasses
import threading
import time

import jax
import numpy as np
from tqdm import tqdm

from nam_jax import degradations
from nam_jax import devices as xla_devices
from nam_jax import images
from nam_jax.nam import invert, render, search, sizes
from nam_jax.nam.settings import Settings


def chunk_size(num_candidates: int, max_batch: int, num_devices: int) -> int:
  """The chunk size: as few chunks as max_batch allows, as even as possible (80 candidates
  at max_batch 64 run as two chunks of 40, not 64 and 16 padded to 64), rounded up to a
  multiple of the devices (and down to max_batch's)."""
  chunks = -(-num_candidates // max(max_batch, 1))
  size = -(-num_candidates // max(chunks, 1))
  size = -(-size // num_devices) * num_devices
  limit = max(num_devices, (max_batch // num_devices) * num_devices)
  return max(num_devices, min(size, limit))


def super_resolve(model, lr_images, settings: Settings, devices=None) -> dict:
  """Optimises `settings.seeds` candidates for every LR image with one degradation (`model`:
  a nam_jax.nam.models.Model; nam_jax.nam.models.super_resolve also takes a choosing one).

  Args:
    lr_images: uint8 [I, s, s, 3] (or float in [-1, 1]), or a list of [s_i, s_i, 3] of several
      sizes (nam/sizes.py): each size is searched as its own group, the degradation mapping
      the candidates to that size.
    settings: uses options, seeds, rng_seed and max_batch.
    devices: devices to shard each chunk over (default: all).
  Returns:
    numpy arrays with leading axes [I, S]: hr [.., 64, 64, 3] and lr [.., s, s, 3] in
    [-1, 1] (a list of [S, s_i, s_i, 3] when the sizes differ), loss (final LR L1), history
    [.., steps], z, noise (the degradation's fitted free inputs); with settings.size > 64 and
    a prior that renders larger, also hr_large, render_psnr and render_lr_l1 (nam/render.py);
    plus seconds (wall time).
  """
  lr_images = checked_inputs(lr_images)
  t0 = time.perf_counter()
  parts = []
  for size, index in sizes.by_size(lr_images):
    sized = at_size(model, size)
    targets = np.stack([lr_images[i] for i in index])
    merged = _search_chunks(sized, targets, settings, list(devices or jax.devices()))
    out = {k: v.reshape((len(index), settings.seeds) + v.shape[1:]) for k, v in merged.items()}
    if settings.size != 64 and render.can_render(model.nets.prior):
      out.update(render.render_large(sized, out, targets, settings.size, settings.render_band,
                                     progress=settings.options.progress))
    parts.append((index, out))
  out = parts[0][1] if len(parts) == 1 else sizes.scatter(parts, len(lr_images))
  out['seconds'] = time.perf_counter() - t0
  return out


def at_size(model, size: int):
  """The model (models.Model) with its degradation mapping to `size` px faces."""
  deg = degradations.at_size(model.nets.degradation, size)
  if deg is model.nets.degradation:
    return model
  return dataclasses.replace(model, nets=invert.Networks(model.nets.prior, deg))


def checked_inputs(lr_images):
  """LR inputs as float in [-1, 1]: [N, s, s, 3] or a list of [s_i, s_i, 3] (nam/sizes.py),
  each square and of 8-64 px; ValueError on another shape or NaN."""
  ragged = sizes.is_ragged(lr_images)
  floats = [images.as_float(x) for x in lr_images] if ragged else images.as_float(lr_images)
  shapes = {x.shape for x in floats} if ragged else (
      {floats.shape[1:]} if floats.ndim == 4 else {floats.shape})
  for shape in shapes:
    if (len(shape) != 3 or shape[0] != shape[1] or shape[2] != 3
        or not sizes.SIZES[0] <= shape[0] <= sizes.SIZES[-1]):
      raise ValueError(f'LR inputs must be square RGB faces of {sizes.SIZES[0]}-'
                       f'{sizes.SIZES[-1]} px ([N, s, s, 3]), got '
                       f'{shape if ragged else np.shape(floats)}')
  if not all(np.all(np.isfinite(x)) for x in (floats if ragged else [floats])):
    raise ValueError('LR inputs contain NaN or infinite values')
  return floats


def _search_chunks(model, lr_images: np.ndarray, settings: Settings, devices: list
                   ) -> dict[str, np.ndarray]:
  """Every candidate (image-major, [I * S, ...]) searched chunk by chunk, each chunk sharded
  over `devices`, with one progress bar over all of them."""
  opts, seeds = settings.options, settings.seeds
  image_index = np.repeat(np.arange(lr_images.shape[0]), seeds)
  seed_index = np.tile(np.arange(seeds), lr_images.shape[0])
  total = len(image_index)
  size = chunk_size(total, settings.max_batch, len(devices))
  mesh = xla_devices.batch_mesh(size, devices)  # All of them: size divides over them.
  shard = xla_devices.sharded(mesh)
  replicated = xla_devices.replicated(mesh)
  prior_params = jax.device_put(model.prior_params, replicated)
  degradation_vars = jax.device_put(model.degradation_vars, replicated)
  keys_all = jax.vmap(lambda s: invert.candidate_key(settings.rng_seed, s))(np.arange(seeds))
  results = []
  starts = range(0, total, size)
  bar = tqdm(total=len(starts) * opts.steps, unit='it', desc='compile', disable=not opts.progress)
  lock = threading.Lock()
  for chunk, start in enumerate(starts):
    idx = np.arange(start, start + size)
    idx = np.minimum(idx, total - 1)  # Pad the last chunk by repeating its last candidate.
    keys = jax.device_put(keys_all[seed_index[idx]], shard)
    places = jax.device_put(seed_index[idx], shard)
    targets = jax.device_put(lr_images[image_index[idx]], shard)

    def on_step(i, done=chunk * opts.steps, chunk=chunk):
      with lock:  # Each device reports every iteration; count each one once.
        if done + i + 1 > bar.n:
          bar.set_description(f'optimise chunk {chunk + 1}/{len(starts)}', refresh=False)
          bar.update(done + i + 1 - bar.n)

    with search.watch(on_step):
      out = jax.device_get(search.run(keys, targets, prior_params, degradation_vars,
                                      nets=model.nets, opts=opts, places=places))
    n_real = min(size, total - start)
    results.append({k: np.asarray(v)[:n_real] for k, v in out.items()})
  bar.close()
  return {k: np.concatenate([r[k] for r in results]) for k in results[0]}
