"""Deterministic synthetic HR faces: the embedded default face source of nam_jax.

Faces come from the MobileStyleGAN (FFHQ) networks shipped as OpenVINO IR files inside the
`random-face` wheel. We run those files directly with `openvino.Core` (the wheel's own engine
calls a removed OpenVINO API and pulls in unneeded dependencies), so `random_face` is never
imported. Face `seed` always uses the latent `np.random.RandomState(seed).randn(512)`, so a
seed names one face forever.

Generated faces are cached on disk in shards of consecutive seeds (`.npy`, uint8, NHWC).
Each shard is written to a temporary name and renamed, so an interrupted run keeps every
finished shard and the next run only generates what is missing.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import pathlib
from typing import Iterable, Sequence

import numpy as np
from PIL import Image

LATENT_DIM = 512
NATIVE_SIZE = 1024
_STYLE_MEAN_SEED = 20210721
_STYLE_MEAN_SAMPLES = 1024


def default_cache_dir() -> pathlib.Path:
  """Root of nam_jax's generated data: $NAM_JAX_DATA or ~/.cache/nam_jax."""
  return pathlib.Path(os.environ.get('NAM_JAX_DATA', '~/.cache/nam_jax')).expanduser()


def _model_dir() -> pathlib.Path:
  spec = importlib.util.find_spec('random_face')
  if spec is None or not spec.submodule_search_locations:
    raise FileNotFoundError(
        'The face generator weights come from the `random-face` wheel, which is not installed: '
        'run the set-up command in README.md (it installs random-face with --no-deps).')
  path = pathlib.Path(spec.submodule_search_locations[0]) / 'data'
  for name in ('MappingNetwork.xml', 'MappingNetwork.bin', 'SynthesisNetwork.xml',
               'SynthesisNetwork.bin'):
    if not (path / name).is_file():
      raise FileNotFoundError(f'random-face is installed but {path / name} is missing.')
  return path


def seed_latents(seeds: Sequence[int]) -> np.ndarray:
  """The fixed 512-d latent of each face seed, float32 [N, 512]."""
  return np.stack([np.random.RandomState(int(s)).randn(LATENT_DIM) for s in seeds]).astype(
      np.float32)


def resize_antialiased(images: np.ndarray, size: int) -> np.ndarray:
  """Resizes uint8 NHWC images to size x size with PIL's anti-aliased Lanczos filter."""
  return np.stack([
      np.asarray(Image.fromarray(im).resize((size, size), Image.LANCZOS)) for im in images])


class FaceSynthesizer:
  """Renders faces from integer seeds with the OpenVINO MobileStyleGAN.

  Args:
    truncation: style truncation psi in [0, 1]; 1 = no truncation. Lower values give cleaner
      but less varied faces.
  """

  def __init__(self, truncation: float = 0.7):
    import openvino  # Imported here: only generation needs it.

    from nam_jax.data import openvino_ir
    if not 0.0 <= truncation <= 1.0:
      raise ValueError(f'truncation must be in [0, 1], got {truncation}.')
    core = openvino.Core()
    model_dir = _model_dir()
    # f32 on every CPU (openvino_ir): the same seed gives the same face on every machine.
    self._mapping = openvino_ir.compile_f32(core, model_dir / 'MappingNetwork.xml')
    self._synthesis = openvino_ir.compile_f32(core, model_dir / 'SynthesisNetwork.xml')
    self.truncation = truncation
    rng = np.random.RandomState(_STYLE_MEAN_SEED)
    # The mapping IR has a static batch of 1, hence the loop; a fixed seed makes the mean a
    # constant, so truncation never changes a face between runs.
    styles = [self._style(rng.randn(1, LATENT_DIM).astype(np.float32))
              for _ in range(_STYLE_MEAN_SAMPLES)]
    self._style_mean = np.mean(np.concatenate(styles), axis=0, keepdims=True)

  def _style(self, z: np.ndarray) -> np.ndarray:
    return np.asarray(self._mapping([z])[0])

  def render(self, seed: int, size: int = 64) -> np.ndarray:
    """One face as uint8 [size, size, 3] RGB."""
    z = seed_latents([seed])
    style = self._style(z)
    style = self._style_mean + self.truncation * (style - self._style_mean)
    img = np.asarray(self._synthesis([style])[0])[0]  # [3, 1024, 1024], RGB, about [-1, 1]
    img = np.clip((img.transpose(1, 2, 0) + 1.0) * 127.5 + 0.5, 0, 255).astype(np.uint8)
    return resize_antialiased(img[None], size)[0]


@functools.lru_cache(maxsize=2)
def synthesizer(truncation: float) -> FaceSynthesizer:
  """One FaceSynthesizer per truncation per process: building one compiles both networks
  and maps 1,024 latents for the style mean (about 3 s on a 2-core CPU)."""
  return FaceSynthesizer(truncation)


def shard_path(cache_dir: pathlib.Path, start: int, count: int, size: int,
               truncation: float) -> pathlib.Path:
  return (pathlib.Path(cache_dir) / f'faces{size}_psi{truncation:.2f}' /
          f'seeds_{start:08d}_{count:05d}.npy')


def shard_ranges(first_seed: int, num: int, shard_size: int) -> list[tuple[int, int]]:
  """Splits seeds [first_seed, first_seed + num) into (start, count) shards."""
  return [(s, min(shard_size, first_seed + num - s))
          for s in range(first_seed, first_seed + num, shard_size)]


def ensure_faces(first_seed: int, num: int, *, size: int = 64, truncation: float = 0.7,
                 cache_dir: pathlib.Path | None = None, shard_size: int = 100,
                 progress: bool = True, desc: str = 'faces') -> list[pathlib.Path]:
  """Makes sure faces for seeds [first_seed, first_seed+num) are cached; returns shard paths.

  Finished shards are kept across interruptions; only missing shards are rendered.
  """
  from tqdm import tqdm
  cache_dir = default_cache_dir() if cache_dir is None else pathlib.Path(cache_dir)
  ranges = shard_ranges(first_seed, num, shard_size)
  paths = [shard_path(cache_dir, s, c, size, truncation) for s, c in ranges]
  todo = [(r, p) for r, p in zip(ranges, paths) if not p.is_file()]
  done_faces = num - sum(c for (_, c), _ in todo)
  if todo:
    synth = synthesizer(truncation)
    bar = tqdm(total=num, initial=done_faces, desc=desc, unit='face', disable=not progress)
    for (start, count), path in todo:
      faces = []
      for seed in range(start, start + count):
        faces.append(synth.render(seed, size))
        bar.update(1)
      path.parent.mkdir(parents=True, exist_ok=True)
      tmp = path.with_suffix('.tmp.npy')
      np.save(tmp, np.stack(faces))
      os.replace(tmp, path)
    bar.close()
  return paths


def load_faces(paths: Iterable[pathlib.Path]) -> np.ndarray:
  """Concatenates cached shards into uint8 [N, H, W, 3]."""
  return np.concatenate([np.load(p) for p in paths])
