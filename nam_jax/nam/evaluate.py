"""SR-NAM on the paired real-world LR test split, scored against the true HR faces.

For each setting: mean and best-of-S final LR L1 (S = seeds), PSNR / SSIM of the candidate
with the best LR L1 (what a user would pick without ground truth) and of the oracle best
candidate by PSNR, and the same metrics for bicubic upsampling of the input. The per-step
LR L1 curve (mean over candidates, and best-of-S) is what the iteration count is chosen from.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from nam_jax import images
from nam_jax.eval import metrics
from nam_jax.nam import chunks
from nam_jax.nam.settings import Settings


def candidate_psnrs(hr: np.ndarray, hr_truth: np.ndarray) -> np.ndarray:
  """PSNR of every candidate hr [I, S, 64, 64, 3] against its face's truth: [I, S]."""
  return np.array([[metrics.psnr(c, truth) for c in cands] for cands, truth in zip(hr, hr_truth)])


def score(result: dict, hr_truth: np.ndarray) -> dict:
  loss = result['loss']                                   # [I, S]
  n_img, seeds = loss.shape
  best = np.argmin(loss, axis=1)
  psnrs = candidate_psnrs(result['hr'], hr_truth)
  picked = [result['hr'][i, best[i]] for i in range(n_img)]
  hist = result['history']                                 # [I, S, steps]
  return {
      'lr_l1_mean': float(loss.mean()),
      f'lr_l1_best_of_{seeds}': float(loss.min(axis=1).mean()),
      'psnr_best_lr': float(np.mean([psnrs[i, best[i]] for i in range(n_img)])),
      'ssim_best_lr': float(np.mean([metrics.ssim(picked[i], hr_truth[i])
                                     for i in range(n_img)])),
      'psnr_oracle': float(psnrs.max(axis=1).mean()),
      'psnr_mean': float(psnrs.mean()),
      'seconds_per_image': result['seconds'] / n_img,
      'curve_mean': hist.mean(axis=(0, 1)).tolist(),
      'curve_best': hist.min(axis=1).mean(axis=0).tolist(),
  }


def baseline(lr_images: np.ndarray, hr_truth: np.ndarray) -> dict:
  up = metrics.bicubic_upsample(lr_images)
  return {'psnr': float(np.mean([metrics.psnr(u, h) for u, h in zip(up, hr_truth)])),
          'ssim': float(np.mean([metrics.ssim(u, h) for u, h in zip(up, hr_truth)]))}


def evaluate_setting(model: chunks.Model, lr_images: np.ndarray, hr_truth: np.ndarray,
                     settings: Settings) -> tuple[dict, dict]:
  """Runs one setting on all faces; returns its scores and the raw result."""
  result = chunks.super_resolve(model, lr_images, settings)
  return {'options': dataclasses.asdict(settings.options), **score(result, hr_truth)}, result


def comparison_grid(lr_images: np.ndarray, hr_truth: np.ndarray, result: dict,
                    faces: int = 8) -> np.ndarray:
  """One row per face: LR input | bicubic | best-LR candidate | oracle candidate | true HR."""
  up = metrics.bicubic_upsample(lr_images[:faces])
  best = np.argmin(result['loss'][:faces], axis=1)
  oracle = np.argmax(candidate_psnrs(result['hr'][:faces], hr_truth[:faces]), axis=1)
  cands = result['hr']
  return images.grid([[lr_images[i], up[i], cands[i, best[i]], cands[i, oracle[i]],
                       hr_truth[i]]
                      for i in range(len(up))])
