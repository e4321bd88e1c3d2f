"""What the input says about skin tone, and what the candidates make of it (no truth needed).

Per input: the skin tone (ITA, nam_jax/skin.py) of every candidate, measured at its own
landmarks, and the input's own cheeks measured where the top candidate puts them. When the
input does not decide the tone (no colour, cheeks too dark or washed out) the summary says so
in one line and gives the range the candidates span; otherwise the top candidate's distance
to the input's tone.
"""

from __future__ import annotations

import numpy as np

from nam_jax import faces, images, skin


def candidate_ita(cands: np.ndarray, lr: np.ndarray | None = None
                  ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
  """ITA [S] of candidates [S, 64, 64, 3], each at its own landmarks (NaN: no face or
  colour); with the LR input `lr`, also the input's own ITA [S] at each candidate's
  landmarks (what that candidate says the input's cheeks are)."""
  out, said = [], []
  for c in images.as_uint8(cands):
    box, _ = faces.face_box(c)
    points = faces.landmarks(c, box)
    out.append(skin.ita(c, points))
    if lr is not None:
      said.append(skin.input_tone(lr, points)['ita'])
  return np.array(out) if lr is None else (np.array(out), np.array(said))


def tone_gaps(lr_images: np.ndarray, cands: np.ndarray) -> np.ndarray:
  """[I, S] |ITA of each candidate - ITA of its input at the candidate's landmarks|, a
  truth-free measure of how far a candidate moved the input's skin tone (NaN: no tone)."""
  rows = []
  for lr, cs in zip(images.as_uint8(lr_images), cands):
    ita, said = candidate_ita(cs, lr)
    rows.append(np.abs(ita - said))
  return np.array(rows)


def describe(lr: np.ndarray, cands: np.ndarray, order: np.ndarray) -> dict:
  """The tone record of one input (uint8 [16, 16, 3]) and its candidates [S, 64, 64, 3],
  `order`: their indices, first to last (finite candidates only)."""
  order = list(order)
  if not order:
    return {}
  ita = candidate_ita(cands[order])
  top = images.as_uint8(cands[order[0]])
  box, _ = faces.face_box(top)
  said = skin.input_tone(lr, faces.landmarks(top, box))
  finite = ita[np.isfinite(ita)]
  lo, hi = (float(finite.min()), float(finite.max())) if len(finite) else (np.nan, np.nan)
  bands = sorted({skin.band(a) for a in finite}, key=[b[0] for b in skin.BANDS].index)
  record = {'input_ita': said['ita'], 'input_band': said['band'], 'decided': said['decided'],
            'candidates_ita': [None if not np.isfinite(a) else float(a) for a in ita],
            'range': [lo, hi], 'bands': bands,
            'top_gap': skin.angle_error(float(ita[0]), said['ita'])}
  if said['decided']:
    record['note'] = (f'skin tone from the input: ITA {said["ita"]:.0f} ({said["band"]}); top '
                      f'candidate {ita[0]:.0f}' if np.isfinite(ita[0]) else
                      f'skin tone from the input: ITA {said["ita"]:.0f} ({said["band"]})')
  else:
    record['note'] = (f'the input does not decide the skin tone ({said["why"]}): the '
                      f'candidates span ITA {lo:.0f} to {hi:.0f} ({", ".join(bands) or "none"})')
  return record
