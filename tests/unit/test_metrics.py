"""Metrics: PSNR, SSIM, Frechet distance (scoring itself: tests/unit/test_eval_suite.py)."""

import numpy as np
import pytest

from nam_jax.eval import frechet, metrics


def test_psnr_and_ssim():
  a = np.full((8, 8, 3), 100, np.uint8)
  b = a.copy()
  b[0, 0, 0] = 110  # MSE = 100 / 192.
  assert metrics.psnr(a, a) == float('inf')
  np.testing.assert_allclose(metrics.psnr(a, b), 10 * np.log10(255 ** 2 / (100 / 192)))
  rng = np.random.default_rng(0)
  x = rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)
  assert metrics.ssim(x, x) == pytest.approx(1.0)
  assert metrics.ssim(x, 255 - x) < 0.5


def test_frechet_distance_known_cases():
  rng = np.random.default_rng(0)
  a = rng.normal(size=(2000, 3))
  assert frechet.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
  shift = np.array([1.0, 2.0, 0.0])
  # Same covariance, shifted mean: distance = ||shift||^2.
  assert frechet.frechet_distance(a, a + shift) == pytest.approx(5.0, rel=1e-6)


def test_frechet_vgg16_separates_distributions():
  rng = np.random.default_rng(0)
  smooth = np.clip(rng.normal(128, 10, (24, 16, 16, 3)), 0, 255).astype(np.uint8)
  smooth2 = np.clip(rng.normal(128, 10, (24, 16, 16, 3)), 0, 255).astype(np.uint8)
  noisy = rng.integers(0, 255, (24, 16, 16, 3), dtype=np.uint8)
  near = frechet.frechet_vgg16_distance(smooth, smooth2)
  far = frechet.frechet_vgg16_distance(smooth, noisy)
  assert near < far
