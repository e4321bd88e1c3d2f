"""Running SR-NAM on a set of LR faces: chunking, device sharding, progress, and results.

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
from jax.sharding import Mesh, NamedSharding, PartitionSpec
from tqdm import tqdm

from nam_jax import export
from nam_jax.data import pipeline
from nam_jax.nam import invert


@dataclasses.dataclass
class Model:
  """The fixed networks and their weights."""

  nets: invert.Networks
  g_params: dict
  h2l_vars: dict
  g_meta: dict
  h2l_meta: dict


def load_model(progan_ckpt, degrade_ckpt) -> Model:
  g_meta, g_vars = export.load_generator(progan_ckpt)
  h_meta, h_vars = export.load_degrader(degrade_ckpt)
  nets = invert.Networks(tuple(g_meta['widths']), g_meta['latent_dim'],
                         tuple(h_meta['widths']), h_meta['blocks_per_group'],
                         h_meta['noise_dim'])
  return Model(nets, g_vars['params'], h_vars, g_meta, h_meta)


def chunk_size(num_candidates: int, max_batch: int, num_devices: int) -> int:
  """Largest chunk <= max_batch (and <= what is needed) that divides over the devices."""
  size = min(max_batch, num_candidates)
  size = max(num_devices, (size // num_devices) * num_devices)
  return size


def super_resolve(model: Model, lr_images: np.ndarray, opts: invert.Options, seeds: int,
                  rng_seed: int = 0, max_batch: int = 64, devices=None,
                  progress: bool = True) -> dict[str, np.ndarray]:
  """Optimises `seeds` candidates for every LR image.

  Args:
    lr_images: uint8 [I, 16, 16, 3] (or float in [-1, 1]).
  Returns:
    numpy arrays with leading axes [I, S]: hr [.., 64, 64, 3] and lr [.., 16, 16, 3] in
    [-1, 1], loss (final LR L1), history [.., steps], z; plus seconds (wall time).
  """
  lr = np.asarray(lr_images)
  lr = pipeline.to_float(lr) if lr.dtype == np.uint8 else lr.astype(np.float32)
  if lr.ndim != 4 or lr.shape[1:] != (16, 16, 3):
    raise ValueError(f'LR inputs must be [N, 16, 16, 3], got {lr.shape}')
  if not np.all(np.isfinite(lr)):
    raise ValueError('LR inputs contain NaN or infinite values')
  n_img = lr.shape[0]
  devices = list(devices or jax.devices())
  mesh = Mesh(np.array(devices), ('c',))
  shard = NamedSharding(mesh, PartitionSpec('c'))
  replicated = NamedSharding(mesh, PartitionSpec())
  g_params = jax.device_put(model.g_params, replicated)
  h2l_vars = jax.device_put(model.h2l_vars, replicated)

  image_index = np.repeat(np.arange(n_img), seeds)
  seed_index = np.tile(np.arange(seeds), n_img)
  total = len(image_index)
  size = chunk_size(total, max_batch, len(devices))
  keys_all = jax.vmap(lambda s: invert.candidate_key(rng_seed, s))(np.arange(seeds))
  results = []
  t0 = time.perf_counter()
  starts = range(0, total, size)
  bar = tqdm(total=len(starts) * opts.steps, unit='it', desc='compile', disable=not progress)
  lock = threading.Lock()
  for chunk, start in enumerate(starts):
    idx = np.arange(start, start + size)
    idx = np.minimum(idx, total - 1)  # Pad the last chunk by repeating its last candidate.
    keys = jax.device_put(keys_all[seed_index[idx]], shard)
    targets = jax.device_put(lr[image_index[idx]], shard)

    def on_step(i, done=chunk * opts.steps, chunk=chunk):
      with lock:  # Each device reports every iteration; count each one once.
        if done + i + 1 > bar.n:
          bar.set_description(f'optimise chunk {chunk + 1}/{len(starts)}', refresh=False)
          bar.update(done + i + 1 - bar.n)

    with invert.watch(on_step):
      out = jax.device_get(invert.solve(keys, targets, g_params, h2l_vars, nets=model.nets,
                                        opts=opts))
    n_real = min(size, total - start)
    results.append({k: np.asarray(v)[:n_real] for k, v in out.items() if k != 'noise'})
  bar.close()
  merged = {k: np.concatenate([r[k] for r in results]) for k in results[0]}
  out = {k: v.reshape((n_img, seeds) + v.shape[1:]) for k, v in merged.items()}
  out['seconds'] = time.perf_counter() - t0
  return out
