"""Where the answer is invented: how much an input's candidates disagree, pixel by pixel.

Every candidate explains the same LR input, so where they agree the input fixed the answer and
where they differ the face prior chose. The disagreement map is the standard deviation over
the candidates of each pixel (mean over channels, images in [-1, 1]). Its calibration on
faces of known truth (nam_jax/eval/suite.py) asks two questions: does the truth fall inside
the candidates' range where they agree (`coverage`), and is the top candidate wrong where
they disagree (`error_correlation`)?
"""

from __future__ import annotations

import numpy as np

# Heat colours, from agreement to disagreement: black, purple, orange, pale yellow.
_STOPS = np.array([[0.0, 0.0, 0.0], [0.45, 0.1, 0.55], [0.95, 0.45, 0.1], [1.0, 1.0, 0.75]])
# The colour scale ends at this standard deviation (the 95th percentile of the pixels of real
# test faces' maps: 0.20 on bicubic LR, 0.31 on camera LR; 16 candidates).
TOP = 0.3


def spread_map(candidates: np.ndarray) -> np.ndarray:
  """Per-pixel standard deviation over candidates [K, H, W, C] (floats), mean over channels:
  [H, W]. One candidate disagrees with nothing: zeros."""
  x = np.asarray(candidates, np.float64)
  return np.std(x, axis=0).mean(axis=-1)


def heat(spread: np.ndarray, top: float = TOP) -> np.ndarray:
  """A disagreement map [H, W] as an RGB image in [-1, 1] (black: the candidates agree)."""
  t = np.clip(spread / top, 0.0, 1.0) * (len(_STOPS) - 1)
  lo = np.minimum(t.astype(int), len(_STOPS) - 2)
  frac = (t - lo)[..., None]
  rgb = _STOPS[lo] * (1 - frac) + _STOPS[lo + 1] * frac
  return (rgb * 2.0 - 1.0).astype(np.float32)


def coverage(candidates: np.ndarray, truth: np.ndarray) -> float:
  """Share of the true image's values [H, W, C] inside the candidates' per-pixel range
  [min, max] over candidates [K, H, W, C]."""
  c = np.asarray(candidates)
  return float(np.mean((truth >= c.min(axis=0)) & (truth <= c.max(axis=0))))


def error_correlation(candidates: np.ndarray, truth: np.ndarray, top: int = 0) -> float:
  """Rank correlation (Spearman) over pixels between the disagreement map and the top
  candidate's error |candidate - truth| (mean over channels): 1 = the map marks exactly where
  the answer is wrong, 0 = it says nothing."""
  spread = spread_map(candidates).ravel()
  error = np.abs(np.asarray(candidates[top], np.float64) - truth).mean(axis=-1).ravel()
  if spread.std() == 0 or error.std() == 0:
    return 0.0
  return float(np.corrcoef(_ranks(spread), _ranks(error))[0, 1])


def calibration(candidates: np.ndarray, truths: np.ndarray) -> dict[str, float]:
  """Mean coverage and error correlation over inputs of ranked candidates [N, S, H, W, C] and
  their true images [N, H, W, C] (floats in one range)."""
  return {'spread_coverage': float(np.mean([coverage(c, t) for c, t in
                                            zip(candidates, truths)])),
          'spread_error_corr': float(np.mean([error_correlation(c, t) for c, t in
                                              zip(candidates, truths)]))}


def _ranks(x: np.ndarray) -> np.ndarray:
  """Ranks of x (ties get their mean rank)."""
  order = np.argsort(x, kind='stable')
  ranks = np.empty(len(x))
  ranks[order] = np.arange(len(x))
  _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
  sums = np.bincount(inverse, weights=ranks)
  return (sums / counts)[inverse]
