"""Which candidate comes first: the order of an input's candidates.

  fit        lowest final LR L1 (SR-NAM's own criterion)
  blend      per input, z-scored LR L1 plus CONSENSUS_WEIGHT x z-scored consensus, where a
             candidate's consensus is its mean dlib descriptor distance to the input's other
             candidates: among the faces that fit, the identity most candidates agree on.

Measured on the 31 real faces at 16 seeds (nam_jax/eval/ranking.py, docs/results.md): blend puts an
identity-keeping candidate first for 26% of bicubic and 19% of camera inputs, against 16% and
16% for fit, for 0.006 and 0.012 more LPIPS.
"""

from __future__ import annotations

import numpy as np

RANKINGS = ('fit', 'blend')
CONSENSUS_WEIGHT = 0.5


def consensus(desc: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
  """[I, S] mean descriptor distance of each candidate to the input's other valid candidates
  (desc [I, S, 128]; valid [I, S] bool, default all)."""
  valid = np.ones(desc.shape[:2], bool) if valid is None else valid
  dist = np.linalg.norm(desc[:, :, None] - desc[:, None], axis=-1) * valid[:, None, :]
  return dist.sum(-1) / np.maximum(valid.sum(-1, keepdims=True) - 1, 1)


def _z(x: np.ndarray, valid: np.ndarray) -> np.ndarray:
  out = np.zeros_like(x)
  for i in range(len(x)):
    v = x[i, valid[i]]
    if len(v):
      out[i, valid[i]] = (v - v.mean()) / (v.std() + 1e-9)
  return out


def scores(loss: np.ndarray, desc: np.ndarray | None, how: str,
           weight: float = CONSENSUS_WEIGHT) -> np.ndarray:
  """[I, S] ranking scores, lower first; non-finite losses (diverged) rank last."""
  if how not in RANKINGS:
    raise ValueError(f'unknown ranking {how!r}; known: {", ".join(RANKINGS)}')
  valid = np.isfinite(loss)
  if how == 'fit':
    return np.where(valid, loss, np.inf)
  blended = _z(np.where(valid, loss, 0.0), valid) + weight * _z(consensus(desc, valid), valid)
  return np.where(valid, blended, np.inf)


def order(loss: np.ndarray, desc: np.ndarray | None, how: str) -> np.ndarray:
  """[I, S] candidate indices, first to last."""
  return np.argsort(scores(loss, desc, how), axis=1, kind='stable')
