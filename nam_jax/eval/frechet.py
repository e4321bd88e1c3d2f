"""Frechet VGG16 distance: the Frechet distance between Gaussians fitted to VGG16 features.

It is the FID formula on VGG16 (ImageNet) relu5_3 features, average-pooled, of images
upsampled to 64x64 (bicubic) -- NOT FID: no Inception-v3 weights exist offline here, so its
values are not comparable with published FIDs, only with each other.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from scipy import linalg

from nam_jax.eval import vgg


@functools.partial(jax.jit, static_argnames=('size',))
def _embed_batch(params, x, size):
  if x.shape[1] != size:
    x = jax.image.resize(x, (x.shape[0], size, size, 3), 'bicubic')
  feats = vgg.VGG16Features(('relu5_3',)).apply(params, x)['relu5_3']
  return jnp.mean(feats, axis=(1, 2))


def embed(images: np.ndarray, batch: int = 50, size: int = 64) -> np.ndarray:
  """[N, 512] features of uint8 images or float images in [-1, 1]."""
  images = np.asarray(images)
  if images.dtype == np.uint8:
    images = images.astype(np.float32) / 127.5 - 1.0
  params = vgg.load_params()
  out = [np.asarray(_embed_batch(params, jnp.asarray(images[i:i + batch]), size))
         for i in range(0, len(images), batch)]
  return np.concatenate(out).astype(np.float64)


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
  """||mu_a - mu_b||^2 + Tr(C_a + C_b - 2 (C_a C_b)^(1/2)) of two feature sets [N, D]."""
  mu_a, mu_b = a.mean(0), b.mean(0)
  cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
  covmean = linalg.sqrtm(cov_a @ cov_b)
  covmean = np.real(covmean)
  return float(np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a + cov_b - 2.0 * covmean))


def frechet_vgg16_distance(images_a: np.ndarray, images_b: np.ndarray) -> float:
  return frechet_distance(embed(images_a), embed(images_b))
