"""How realistic are the degradations? Frechet VGG16 distance to held-out real-world LR faces
of (a) the degradation GAN's outputs, (b) bicubic and (c) bilinear downsampling of the same HR
test faces (Bulat 4.2 compares against bilinear the same way, with FID)."""

from __future__ import annotations

import jax
import numpy as np
from PIL import Image

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
  h2l = pipeline.to_uint8(np.concatenate(outs))
  real = frechet.embed(real_lr)
  return {
      'fvd_h2l': frechet.frechet_distance(frechet.embed(h2l), real),
      'fvd_bicubic': frechet.frechet_distance(frechet.embed(downsample(hr, 16, Image.BICUBIC)),
                                              real),
      'fvd_bilinear': frechet.frechet_distance(
          frechet.embed(downsample(hr, 16, Image.BILINEAR)), real),
      'eval_hr_faces': float(len(hr)), 'eval_real_lr_faces': float(len(real_lr)),
  }
