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


def measure(lr: np.ndarray, cands: np.ndarray) -> tuple[np.ndarray, list[dict]]:
  """Each candidate [S, 64, 64, 3] at its own landmarks: its ITA [S] (NaN: no face or
  colour), and the input's own tone record there (skin.input_tone of the LR input `lr`: what
  that candidate says the input's cheeks are). One landmark pass per candidate, shared by the
  ranking (gaps) and the record (describe)."""
  ita, said = [], []
  lr = images.as_uint8(lr)
  for c in images.as_uint8(cands):
    box, _ = faces.face_box(c)
    points = faces.landmarks(c, box)
    ita.append(skin.ita(c, points))
    said.append(skin.input_tone(lr, points))
  return np.array(ita), said


def gaps(measured: tuple[np.ndarray, list[dict]]) -> np.ndarray:
  """[S] |ITA of each candidate - ITA of the input at its landmarks| (NaN: no tone)."""
  ita, said = measured
  return np.abs(ita - np.array([t['ita'] for t in said]))


def tone_gaps(lr_images, cands: np.ndarray) -> np.ndarray:
  """[I, S] gaps of every input's candidates (lr_images: [I][s, s, 3], of any sizes): a
  truth-free measure of how far a candidate moved the input's skin tone."""
  return np.array([gaps(measure(lr, cs))
                   for lr, cs in zip(lr_images, cands)])


def describe(measured: tuple[np.ndarray, list[dict]], order) -> dict:
  """The tone record of one input from its candidates' measure(), `order`: their indices,
  first to last (finite candidates only)."""
  order = list(order)
  if not order:
    return {}
  ita = measured[0][order]
  said = measured[1][order[0]]
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
