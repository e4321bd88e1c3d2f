"""Where the search goes: the latents SR-NAM's search ends at, with the full network's faces.

The 64 px head is distilled on mapped styles (train_head.pairs), and agrees with the full
network there to about 26 dB; at the latents the search returns it agrees to only about 20-21
dB (docs/benchmarks.md, "A head trained longer"): the search's latents lie where the head was
never trained, and the optimiser finds its errors. These pairs are the head's training data
for those places (`--config.stylegan_head.points=DIR`).

Inputs are synthetic faces the full network rendered (untruncated, seeds of the 'head_search'
range, never a real face), each moved off the prior's own framing and lighting (turned,
scaled, shifted, relit: on unmoved faces the searches in W stayed where the head already agrees
to 25 dB, unlike on real faces) and made LR by one kind of the family in turn (bicubic, the camera
simulator mild and strong, the defocus and bayer pipelines; never the held-out phone
pipeline), searched as infer.py searches (the config's degradation, `auto` by default, and its
seeds). Every candidate's final latent (W broadcast to W+) is rendered by the full synthesis
at 1024 px (the Flax port: the OpenVINO export takes W only) and reduced to 64 px as the
training faces are. Shards of `chunk` faces are written as they finish, so a run resumes.

  python -m nam_jax.stylegan.search_points --faces=35 --out=runs/points
"""

from __future__ import annotations

import pathlib

import jax
import numpy as np
from PIL import Image

from nam_jax import images
from nam_jax.data import other_cameras, real_faces, rendered_faces, splits
from nam_jax.stylegan import model as msg

SPLIT = 'head_search'
PSI = 1.0
KINDS = tuple(k for k in real_faces.LR_KINDS if k != other_cameras.HELD_OUT)
# How far an input face is moved from the prior's own before it is made LR (off_the_prior):
# real faces are aligned less exactly and lit otherwise, and the search's latents follow.
ROTATE, SCALE, SHIFT, GAIN, GAMMA = 10.0, 0.12, 4.0, 0.15, 0.25


@jax.jit
def _full_render(synthesis, w: jax.Array) -> jax.Array:
  return msg.Synthesis().apply({'params': synthesis}, w)[1]


def full_faces(synthesis, w) -> np.ndarray:
  """uint8 [B, 64, 64, 3]: styles w ([B, 512] or [B, 23, 512]) through the full network at
  1024 px, one face at a time (one compilation), reduced as the training faces are."""
  out = []
  for i in range(len(w)):
    image = np.asarray(_full_render(synthesis, w[i:i + 1]))
    out.append(rendered_faces.resize_antialiased(images.as_uint8(image), 64)[0])
  return np.stack(out)


def as_w_plus(z: np.ndarray) -> np.ndarray:
  """Latents [..., 512] (W) or [..., 23, 512] (W+) as W+ [..., 23, 512]."""
  z = np.asarray(z, np.float32)
  if z.shape[-2:] == (msg.NUM_STYLES, msg.STYLE_DIM):
    return z
  return np.broadcast_to(z[..., None, :], z.shape[:-1] + (msg.NUM_STYLES, z.shape[-1])).copy()


def off_the_prior(hr: np.ndarray, seed: int) -> np.ndarray:
  """A face uint8 [64, 64, 3] moved as photographed faces differ from the prior's own: turned
  (up to ROTATE degrees), scaled (1 +- SCALE), shifted (up to SHIFT px; reflected borders),
  and lit differently (a gain per channel 1 +- GAIN, a gamma 1 +- GAMMA), drawn from `seed`."""
  rng = np.random.default_rng(seed)
  angle, scale = np.deg2rad(rng.uniform(-ROTATE, ROTATE)), rng.uniform(1 - SCALE, 1 + SCALE)
  dx, dy = rng.uniform(-SHIFT, SHIFT, 2)
  pad = 16
  big = Image.fromarray(np.pad(hr, ((pad, pad), (pad, pad), (0, 0)), mode='reflect'))
  # Output pixel p reads input centre + rotation(p - 32) / scale + shift.
  cos, sin = np.cos(angle) / scale, np.sin(angle) / scale
  centre = pad + 32
  data = (cos, -sin, centre + dx - 32 * (cos - sin), sin, cos, centre + dy - 32 * (sin + cos))
  moved = np.asarray(big.transform((64, 64), Image.AFFINE, data, Image.BICUBIC), np.float32)
  gain = rng.uniform(1 - GAIN, 1 + GAIN, 3)
  gamma = rng.uniform(1 - GAMMA, 1 + GAMMA)
  lit = np.power(moved / 255.0, gamma) * gain
  return np.clip(lit * 255.0 + 0.5, 0, 255).astype(np.uint8)


def lr_faces(hr: np.ndarray, first: int) -> tuple[np.ndarray, list[str]]:
  """(uint8 [N, 16, 16, 3], kinds): face `first + i` moved off the prior (off_the_prior) and
  made LR by KINDS[(first + i) % 5], its draws seeded by its own seed."""
  kinds = [KINDS[(first + i) % len(KINDS)] for i in range(len(hr))]
  seeds = splits.seed_range(SPLIT, first + len(hr))[first:]
  hr = [off_the_prior(h, s) for h, s in zip(hr, seeds)]
  lr = [other_cameras.degrade(h, k, s) if k in other_cameras.PIPELINES
        else real_faces.make_lr(h[None], k, first_seed=s)[0] for h, k, s in zip(hr, kinds, seeds)]
  return np.stack(lr), kinds


def shard_path(out_dir, first: int, count: int) -> pathlib.Path:
  return pathlib.Path(out_dir) / f'points_{first:05d}_{count:03d}.npz'


def collect(model, job, synthesis, faces: int, out_dir, chunk: int = 5, progress=print
            ) -> list[pathlib.Path]:
  """Searches `faces` synthetic LR faces in shards of `chunk` (a finished shard is kept) and
  writes each shard's {w [F*S, 23, 512], image uint8 [F*S, 64, 64, 3], face [F*S], kind,
  loss}. model, job: a loaded nam model (models.load_model) and its settings."""
  from nam_jax.nam import models
  out_dir = pathlib.Path(out_dir)
  out_dir.mkdir(parents=True, exist_ok=True)
  hr = rendered_faces.load_faces(rendered_faces.ensure_faces(
      splits.seed_range(SPLIT, faces).start, faces, truncation=PSI, desc='search faces'))
  paths = []
  for first in range(0, faces, chunk):
    count = min(chunk, faces - first)
    path = shard_path(out_dir, first, count)
    paths.append(path)
    if path.is_file():
      continue
    lr, kinds = lr_faces(hr[first:first + count], first)
    result = models.super_resolve(model, lr, job)
    w = as_w_plus(result['z']).reshape((-1, msg.NUM_STYLES, msg.STYLE_DIM))
    seeds = job.seeds
    record = {'w': w, 'image': full_faces(synthesis, w),
              'face': np.repeat(np.arange(first, first + count), seeds),
              'kind': np.repeat(np.array(kinds), seeds),
              'loss': np.asarray(result['loss'], np.float32).reshape(-1)}
    tmp = path.with_name(path.stem + '.tmp.npz')
    np.savez(tmp, **record)
    tmp.replace(path)
    progress(f'faces {first}-{first + count - 1} ({", ".join(kinds)}): {len(w)} end points, '
             f'LR L1 {record["loss"].mean():.4f}, {result["seconds"]:.0f} s search')
  return paths


def load(out_dir) -> dict[str, np.ndarray]:
  """Every shard of `out_dir` ({w, image, face, kind, loss}, concatenated by face)."""
  paths = sorted(pathlib.Path(out_dir).glob('points_*_*.npz'))
  paths = [p for p in paths if not p.name.endswith('.tmp.npz')]
  if not paths:
    raise FileNotFoundError(f'no search end points (points_*.npz) in {out_dir}')
  shards = [dict(np.load(p)) for p in paths]
  return {k: np.concatenate([s[k] for s in shards]) for k in shards[0]}


def split_by_face(points: dict, test_faces: int) -> tuple[dict, dict]:
  """(train, test): the end points of the last `test_faces` faces held out."""
  faces = np.unique(points['face'])
  held = np.isin(points['face'], faces[len(faces) - test_faces:] if test_faces else [])
  return ({k: v[~held] for k, v in points.items()}, {k: v[held] for k, v in points.items()})


def main(argv):
  del argv
  from absl import logging
  from nam_jax import devices
  from nam_jax.nam import models, settings
  logging.set_verbosity(logging.WARNING)
  devices.configure_host_cpu_or_exit(ynnpack=True)
  config = cli.config(_CONFIG)
  job = settings.from_config(config.nam, {'seeds': _SEEDS.value, 'progress': False,
                                          'size': 64}, base_dir=_REPO)
  model = models.load_model(job)
  synthesis = msg.load_params(convert.ensure_converted())['synthesis']
  paths = collect(model, job, synthesis, _FACES.value, _OUT.value, _CHUNK.value)
  print(f'{len(paths)} shards in {_OUT.value}')


if __name__ == '__main__':
  from absl import flags
  from nam_jax import cli
  from nam_jax.stylegan import convert
  _REPO = pathlib.Path(__file__).resolve().parents[2]
  _CONFIG = cli.define_config(str(_REPO / 'configs' / 'cpu.py'))
  _FACES = flags.DEFINE_integer('faces', 35, 'Synthetic LR faces to search.')
  _SEEDS = flags.DEFINE_integer('seeds', 16, 'Candidates per face.')
  _CHUNK = flags.DEFINE_integer('chunk', 5, 'Faces per shard, searched together (5: one of '
                                'each LR kind).')
  _OUT = flags.DEFINE_string('out', 'runs/points', 'Directory of the shards.')
  cli.run(main)
