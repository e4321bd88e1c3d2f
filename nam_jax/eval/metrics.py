"""Image fidelity metrics against ground truth: PSNR and SSIM on 8-bit RGB images."""

from __future__ import annotations

import numpy as np
from PIL import Image
from skimage.metrics import structural_similarity

from nam_jax.images import as_uint8


def psnr(a: np.ndarray, b: np.ndarray) -> float:
  """PSNR in dB between two uint8 (or [-1, 1] float) images, peak 255."""
  a, b = as_uint8(a).astype(np.float64), as_uint8(b).astype(np.float64)
  mse = np.mean((a - b) ** 2)
  return float('inf') if mse == 0 else float(10 * np.log10(255.0 ** 2 / mse))


def ssim(a: np.ndarray, b: np.ndarray) -> float:
  """SSIM (scikit-image, Gaussian-free 7x7 windows, over RGB channels)."""
  return float(structural_similarity(as_uint8(a), as_uint8(b), channel_axis=-1,
                                     data_range=255))


def bicubic_upsample(lr: np.ndarray, size: int = 64) -> np.ndarray:
  """uint8 [N, h, w, 3] -> uint8 [N, size, size, 3] with Pillow's bicubic filter."""
  return np.stack([np.asarray(Image.fromarray(as_uint8(x)).resize((size, size),
                                                                   Image.BICUBIC))
                   for x in lr])
