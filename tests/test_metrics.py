"""Metrics: PSNR, SSIM, Frechet distance, and SR-NAM scoring against ground truth."""

import numpy as np
import pytest

from nam_jax.eval import frechet, metrics
from nam_jax.nam import evaluate


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


def test_score_picks_the_best_lr_candidate():
  hr_truth = np.zeros((1, 64, 64, 3), np.uint8)
  hr = np.stack([np.full((64, 64, 3), v, np.float32) for v in (-1.0, 0.0, 1.0)])[None]
  result = {'loss': np.array([[0.3, 0.1, 0.2]]), 'hr': hr,
            'history': np.array([[[0.5, 0.3], [0.4, 0.1], [0.6, 0.2]]]), 'seconds': 2.0}
  s = evaluate.score(result, hr_truth)
  assert s['lr_l1_best_of_3'] == pytest.approx(0.1)
  assert s['lr_l1_mean'] == pytest.approx(0.2)
  assert s['psnr_best_lr'] == pytest.approx(metrics.psnr(hr[0, 1], hr_truth[0]))
  assert s['psnr_oracle'] == float('inf')  # Candidate 0 is exactly the truth (all black).
  assert s['curve_best'] == pytest.approx([0.4, 0.1])


def test_comparison_grid_shows_best_lr_and_oracle_candidates():
  hr_truth = np.zeros((1, 64, 64, 3), np.uint8)
  hr = np.stack([np.full((64, 64, 3), v, np.float32) for v in (-1.0, 0.0, 1.0)])[None]
  lr = np.full((1, 16, 16, 3), 200, np.uint8)
  result = {'loss': np.array([[0.3, 0.1, 0.2]]), 'hr': hr}
  g = evaluate.comparison_grid(lr, hr_truth, result)
  assert g.shape == (2 + 66, 2 + 5 * 66, 3)
  cell = lambda j: g[2:66, 2 + 66 * j:66 + 66 * j]  # noqa: E731
  assert np.all(cell(0) == 200)                      # LR input, upscaled.
  assert np.all(cell(2) == metrics.as_uint8(hr[0, 1]))  # Lowest LR L1.
  assert np.all(cell(3) == 0)                        # Highest PSNR: candidate 0 = the truth.
  assert np.all(cell(4) == 0)
