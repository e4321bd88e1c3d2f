"""Scores of the trained degradation GAN (the evaluation of SR methods is nam_jax/eval/suite.py).

Frechet VGG16 distance to held-out real-world LR faces of its outputs, of bicubic and of
bilinear downsampling of the same HR test faces (Bulat 4.2 compares against bilinear the same
way, with FID), during training (`frechet_report`); and, per exported H2L checkpoint, noise
spread, Frechet distances and reach (`compare_degradations`,
`python evaluate.py --generators=h2l --ckpts=A,B`).
"""

from __future__ import annotations

import jax
import numpy as np
from PIL import Image

from nam_jax import images
from nam_jax.data import datasets, pipeline
from nam_jax.degrade import model
from nam_jax.eval import frechet


def downsample(images: np.ndarray, size: int, method) -> np.ndarray:
  """Pillow resize of uint8 images (Pillow filters the image when shrinking)."""
  return np.stack([np.asarray(Image.fromarray(im).resize((size, size), method)) for im in images])


def frechet_report(config, g_params, g_stats, seed: int = 0) -> dict[str, float]:
  n = config.degrade.eval_samples
  hr = datasets.take(datasets.hr_source(config.data, 'test'), n)
  real_lr = datasets.take(datasets.lr_source(config.data, 'test'), n)
  outs = []
  for i in range(0, len(hr), 100):
    chunk = pipeline.to_float(hr[i:i + 100])
    outs.append(np.asarray(model.degrade_images(
        config.degrade, g_params, g_stats, chunk, jax.random.key(seed + i))))
  h2l = images.to_uint8(np.concatenate(outs))
  real = frechet.embed(real_lr)
  return {
      'fvd_h2l': frechet.frechet_distance(frechet.embed(h2l), real),
      'fvd_bicubic': frechet.frechet_distance(frechet.embed(downsample(hr, 16, Image.BICUBIC)),
                                              real),
      'fvd_bilinear': frechet.frechet_distance(
          frechet.embed(downsample(hr, 16, Image.BILINEAR)), real),
      'eval_hr_faces': float(len(hr)), 'eval_real_lr_faces': float(len(real_lr)),
  }


def noise_spread(degradation, variables, hr: np.ndarray, draws: int = 4, seed: int = 0
                 ) -> dict[str, float]:
  """How much the noise input matters: mean L1 between degradations of the same faces (uint8
  [N, 64, 64, 3]) under `draws` noise vectors, over all pairs: on pixels, and on the global
  statistics the diversity term uses (colour, contrast, sharpness; statistics.py)."""
  import itertools
  import jax.numpy as jnp
  from nam_jax.degrade.statistics import image_statistics
  x = jnp.asarray(images.as_float(hr))
  outs = [degradation(variables, x, jax.random.normal(jax.random.key(seed + k),
                                                      (len(hr), degradation.noise_dim)))
          for k in range(draws)]
  pairs = list(itertools.combinations(outs, 2))
  return {'spread_pixels': float(np.mean([jnp.mean(jnp.abs(a - b)) for a, b in pairs])),
          'spread_statistics': float(np.mean([jnp.mean(jnp.abs(image_statistics(a) -
                                                               image_statistics(b)))
                                              for a, b in pairs]))}


def compare_degradations(ckpts: list[str], data_cfg, faces: int = 500) -> dict:
  """For each exported H2L checkpoint: noise spread, Frechet VGG16 distance of its outputs to
  held-out LR faces (the LR test split of `data_cfg`, a config's data section, and faces made
  LR by the 'wide' mixture), and its reach on the real-face sets (nam_jax/eval/reach.py)."""
  from nam_jax import priors
  from nam_jax.data import camera_sim as simulate
  from nam_jax.degradations import h2l
  from nam_jax.data import real_faces
  from nam_jax.eval import reach
  hr = datasets.take(datasets.hr_source(data_cfg, 'test'), faces)
  refs = {'lr_test': frechet.embed(datasets.take(datasets.lr_source(data_cfg, 'test'), faces)),
          'wide': frechet.embed(simulate.degrade_mixed(hr[::-1], 'wide', first_seed=90_000_000))}
  rf = real_faces.load()
  out = {}
  for ckpt in ckpts:
    d = priors.Loaded(*h2l.load(ckpt))
    row = noise_spread(d.model, d.weights, hr[:100])
    lr = np.concatenate([np.asarray(d.model(d.weights, images.as_float(hr[i:i + 100]),
                                            jax.random.normal(jax.random.key(i), (
                                                len(hr[i:i + 100]), d.model.noise_dim))))
                         for i in range(0, len(hr), 100)])
    emb = frechet.embed(images.as_uint8(lr))
    row.update({f'frechet_{k}': frechet.frechet_distance(emb, v) for k, v in refs.items()})
    for kind, lr_real in rf.lr.items():
      row[f'reach_{kind}'] = float(np.mean(reach.reach(d.model, d.weights, rf.hr, lr_real)))
    out[ckpt] = row
    print(ckpt, {k: round(v, 4) for k, v in row.items()}, flush=True)
  return out
