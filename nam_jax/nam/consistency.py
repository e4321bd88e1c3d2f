"""Does a candidate explain the input? Per candidate, its LR residual map and a pass/warn flag.

The residual map is |D(candidate, fitted inputs) - input| per LR pixel (mean over channels).
The flag compares the candidate's LR L1 with THRESHOLD: the 95th percentile of the TOP
candidates' LR L1 on the real-face test sets (31 faces, bicubic LR through `auto` and camera LR
through `camera`, 16 seeds each, W search; the nam_jax/eval/ranking.py runs in docs/results.md: 0.1116). A top candidate
that warns fits its input worse than 95% of real faces are fitted: read its details with more
doubt. Nothing is ever withheld: the best candidate is always returned, warned or not.
"""

from __future__ import annotations

import numpy as np

THRESHOLD = 0.112
# An input whose pixels spread less than this (standard deviation, images in [-1, 1]; about
# 4 of 255 levels) holds no face: any candidate "explains" a flat image (the camera model
# dims a face to black), so its fit is no evidence and its candidates never pass.
MIN_CONTRAST = 0.03
# A candidate whose LR L1 is over OUTLIER_RATIO times its input's best fits far worse than its
# siblings: it is marked and ranked after the others (shown, never dropped). Measured on the
# 31 real faces, 16 seeds, default settings (docs/results.md, "Outliers"): on bicubic LR 5.0% of
# candidates are over 1.75x (they keep the person 16% of the time against 31% for the rest,
# LPIPS 0.154 against 0.117), on defocus LR 0.4%; at 1.5x 16% / 4.2%, and one bicubic face's
# only candidate that kept the person would have been demoted.
OUTLIER_RATIO = 1.75


def residual_maps(lr_fit, lr_input) -> list[np.ndarray]:
  """|lr_fit - input| averaged over channels, per input [S, s, s] of lr_fit [I][S, s, s, 3]
  and inputs [I][s, s, 3] (both float in [-1, 1]; arrays or lists of several sizes)."""
  return [np.mean(np.abs(np.asarray(f) - np.asarray(x)[None]), axis=-1)
          for f, x in zip(lr_fit, lr_input)]


def has_content(lr_inputs) -> np.ndarray:
  """bool [I]: inputs [I][s, s, 3] (float in [-1, 1]) whose pixels spread at least
  MIN_CONTRAST."""
  return np.array([np.asarray(x, np.float64).std() >= MIN_CONTRAST for x in lr_inputs], bool)


def flags(loss: np.ndarray, threshold: float = THRESHOLD,
          content: np.ndarray | None = None) -> np.ndarray:
  """'pass' / 'warn' [I, S] for candidates' final LR L1 [I, S] (non-finite: 'warn'); with
  `content` [I] (has_content), an input without content warns whatever its fit."""
  ok = np.isfinite(loss) & (loss <= threshold)
  if content is not None:
    ok &= np.asarray(content, bool).reshape((-1,) + (1,) * (ok.ndim - 1))
  return np.where(ok, 'pass', 'warn')


def outliers(loss: np.ndarray, ratio: float = OUTLIER_RATIO) -> np.ndarray:
  """bool [I, S]: candidates whose final LR L1 [I, S] is over `ratio` times the best finite
  one of their input (non-finite losses are not outliers: they diverged, marked apart)."""
  loss = np.asarray(loss, np.float64)
  finite = np.isfinite(loss)
  best = np.min(np.where(finite, loss, np.inf), axis=-1, keepdims=True)
  return finite & (loss > ratio * best)


def heat(residual: np.ndarray, top: float = 0.5) -> np.ndarray:
  """A residual map [16, 16] as an RGB image [16, 16, 3] in [-1, 1]: black (0) to white
  (`top`, half the image range, or more)."""
  x = np.clip(residual / top, 0.0, 1.0) * 2.0 - 1.0
  return np.repeat(x[..., None], 3, axis=-1)
