"""Which candidate comes first: the order of an input's candidates.

  fit        lowest final LR L1 (SR-NAM's own criterion)
  blend      per input, z-scored LR L1 plus CONSENSUS_WEIGHT x z-scored consensus, where a
             candidate's consensus is its mean dlib descriptor distance to the input's other
             candidates: among the faces that fit, the identity most candidates agree on.
  input      (the default) per input, z-scored LR L1 plus, each z-scored and weighed by
             INPUT_WEIGHTS, what the candidate keeps of the input: its tone gap, how far its
             skin tone (ITA) lies from the input's own cheeks (nam_jax/nam/tone.py; low
             frequencies survive any downsampling); and, weighed 0 by default, its dlib
             descriptor distance to the input enlarged bicubically, consensus, and its
             artefact score (nam_jax/artefacts.py).

Measured on the 31 real faces at 16 seeds (nam_jax/eval/ranking.py, docs/results.md): blend puts an
identity-keeping candidate first for 26% of bicubic and 19% of camera inputs, against 16% and
16% for fit, for 0.006 and 0.012 more LPIPS. The input ranking's weights were chosen by
re-ranking kept candidates (nam_jax/eval/rerank.py) of 12 real faces of the bicubic, defocus
and bayer sets (docs/skin_tone.md): the tone gap alone put the person first for 42% of bicubic
inputs (fit 33%) with skin-tone error 3.3 degrees (fit 4.1); the identity, consensus and
artefact terms gained nothing on top of it.
"""

from __future__ import annotations

import numpy as np

RANKINGS = ('fit', 'blend', 'input')
CONSENSUS_WEIGHT = 0.5
INPUT_WEIGHTS = {'input': 0.0, 'consensus': 0.0, 'artefacts': 0.0, 'tone': 0.5}


def consensus(desc: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
  """[I, S] mean descriptor distance of each candidate to the input's other valid candidates
  (desc [I, S, 128]; valid [I, S] bool, default all)."""
  valid = np.ones(desc.shape[:2], bool) if valid is None else valid
  dist = np.linalg.norm(desc[:, :, None] - desc[:, None], axis=-1) * valid[:, None, :]
  return dist.sum(-1) / np.maximum(valid.sum(-1, keepdims=True) - 1, 1)


def input_descriptors(lr_images) -> np.ndarray:
  """dlib descriptors [I, 128] of the LR inputs ([I][s, s, 3], any sizes) enlarged
  bicubically to 64 px."""
  from PIL import Image
  from nam_jax import images
  from nam_jax.nam import groups
  big = [np.asarray(Image.fromarray(images.as_uint8(x)).resize((64, 64), Image.BICUBIC))
         for x in lr_images]
  return groups.descriptors(np.stack(big))


def _z(x: np.ndarray, valid: np.ndarray) -> np.ndarray:
  out = np.zeros_like(x, dtype=np.float64)
  for i in range(len(x)):
    v = x[i, valid[i]]
    if len(v):
      out[i, valid[i]] = (v - v.mean()) / (v.std() + 1e-9)
  return out


def terms(desc: np.ndarray, input_desc: np.ndarray | None = None,
          artefact_scores: np.ndarray | None = None, valid: np.ndarray | None = None,
          tone_gaps: np.ndarray | None = None) -> dict[str, np.ndarray]:
  """The per-candidate figures [I, S] rankings weigh: consensus, input (descriptor distance
  to the enlarged input; needs input_desc [I, 128]), artefacts and tone (as given; a
  candidate without a measurable tone counts as no gap)."""
  out = {'consensus': consensus(desc, valid)}
  if input_desc is not None:
    out['input'] = np.linalg.norm(desc - input_desc[:, None], axis=-1)
  if artefact_scores is not None:
    out['artefacts'] = np.asarray(artefact_scores, np.float64)
  if tone_gaps is not None:
    out['tone'] = np.nan_to_num(np.asarray(tone_gaps, np.float64), nan=0.0)
  return out


def weighted(loss: np.ndarray, figures: dict[str, np.ndarray], weights: dict[str, float]
             ) -> np.ndarray:
  """[I, S] z-scored LR L1 plus each weighted, z-scored figure; non-finite losses last."""
  valid = np.isfinite(loss)
  total = _z(np.where(valid, loss, 0.0), valid)
  for name, w in weights.items():
    if w:
      total = total + w * _z(np.where(valid, figures[name], 0.0), valid)
  return np.where(valid, total, np.inf)


def scores(loss: np.ndarray, desc: np.ndarray | None, how: str,
           weight: float = CONSENSUS_WEIGHT, input_desc: np.ndarray | None = None,
           artefact_scores: np.ndarray | None = None, tone_gaps: np.ndarray | None = None
           ) -> np.ndarray:
  """[I, S] ranking scores, lower first; non-finite losses (diverged) rank last. `input`
  needs what its weights use: input_desc, artefact_scores, tone_gaps."""
  if how not in RANKINGS:
    raise ValueError(f'unknown ranking {how!r}; known: {", ".join(RANKINGS)}')
  valid = np.isfinite(loss)
  if how == 'fit':
    return np.where(valid, loss, np.inf)
  figures = terms(desc, input_desc, artefact_scores, valid, tone_gaps)
  weights = {'consensus': weight} if how == 'blend' else INPUT_WEIGHTS
  return weighted(loss, figures, weights)


def order(loss: np.ndarray, desc: np.ndarray | None, how: str, **kw) -> np.ndarray:
  """[I, S] candidate indices, first to last."""
  return np.argsort(scores(loss, desc, how, **kw), axis=1, kind='stable')
