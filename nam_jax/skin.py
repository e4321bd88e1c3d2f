"""Skin tone of a face image as the individual typology angle (ITA), and what it tells a user.

ITA (degrees) = atan((L* - 50) / b*) * 180 / pi, from the CIELAB lightness L* and yellow-blue
b* (D65, sRGB) of cheek skin. Both cheeks are placed by dlib's 68 landmarks (nam_jax/faces.py):
each cheek is a disc around the centroid of a jaw point, the nose wing, the lower eyelid and
the mouth corner on its side, of radius CHEEK_RADIUS x the inter-ocular distance; the tone is
the median L* and b* over both discs. Bands (degrees): very light > 55, light 41-55,
intermediate 28-41, tan 10-28, brown -30-10, dark < -30.

A face with no colour (a black-and-white photo, cheek chroma under GREY_CHROMA) has no ITA
(NaN): its tone is not in the image. `input_tone` says, without any truth, what an LR input
decides about the tone of the face behind it.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

BANDS = (('very light', 55.0, np.inf), ('light', 41.0, 55.0), ('intermediate', 28.0, 41.0),
         ('tan', 10.0, 28.0), ('brown', -30.0, 10.0), ('dark', -np.inf, -30.0))
# Landmarks whose centroid is each cheek's centre: jaw, nose wing, lower eyelid, mouth corner.
CHEEKS = ((2, 31, 41, 48), (14, 35, 46, 54))
CHEEK_RADIUS = 0.15
GREY_CHROMA = 4.0     # C*ab of the cheeks below which an image holds no skin colour.
# An input's cheeks this dark or this bright hold too little of the tone (clipping, noise).
DARK_L, BRIGHT_L = 20.0, 92.0


def lab(image: np.ndarray) -> np.ndarray:
  """CIELAB [H, W, 3] of an sRGB image (uint8, or float in [-1, 1])."""
  from skimage import color
  x = np.asarray(image)
  x = x.astype(np.float64) / 255.0 if x.dtype == np.uint8 else (x.astype(np.float64) + 1) / 2
  return color.rgb2lab(np.clip(x, 0.0, 1.0))


def cheek_mask(points: np.ndarray, size: int) -> np.ndarray:
  """[size, size] bool: both cheek discs of landmarks [68, 2] given at 64 px scale."""
  scale = size / 64.0
  iod = np.linalg.norm(points[36] - points[45]) * scale
  yy, xx = np.mgrid[0:size, 0:size] + 0.5
  mask = np.zeros((size, size), bool)
  for side in CHEEKS:
    cx, cy = points[list(side)].mean(0) * scale
    mask |= (xx - cx) ** 2 + (yy - cy) ** 2 <= (CHEEK_RADIUS * iod) ** 2
  return mask


def cheek_lab(image: np.ndarray, points: np.ndarray) -> np.ndarray:
  """Median (L*, a*, b*) over the cheek discs of `points` (64 px scale) in `image`; an image
  under 64 px is enlarged bicubically first so a disc covers whole pixels."""
  im = np.asarray(image)
  if im.shape[0] < 64:
    from nam_jax import images
    im = np.asarray(Image.fromarray(images.as_uint8(im)).resize((64, 64), Image.BICUBIC))
  values = lab(im)[cheek_mask(points, im.shape[0])]
  return np.median(values, axis=0) if len(values) else np.full(3, np.nan)


def ita_of_lab(lab_values: np.ndarray) -> float:
  """ITA (degrees) of one (L*, a*, b*); NaN for a grey colour (no skin tone in it)."""
  lightness, a, b = (float(v) for v in lab_values)
  if not np.isfinite(lightness) or np.hypot(a, b) < GREY_CHROMA:
    return float('nan')
  return float(np.degrees(np.arctan2(lightness - 50.0, b)))


def ita(image: np.ndarray, points: np.ndarray) -> float:
  """ITA (degrees) of the cheeks at landmarks `points` [68, 2] (64 px scale) of `image`."""
  return ita_of_lab(cheek_lab(image, points))


def band(angle: float) -> str:
  """The band name of an ITA; 'no colour' for NaN."""
  if not np.isfinite(angle):
    return 'no colour'
  return next(name for name, low, high in BANDS if low < angle <= high)


def angle_error(a: float, b: float) -> float:
  """|a - b| in degrees; NaN when either has no tone."""
  return abs(a - b) if np.isfinite(a) and np.isfinite(b) else float('nan')


def input_tone(lr: np.ndarray, points: np.ndarray) -> dict:
  """What an LR input decides about skin tone, with no truth: its own cheek ITA at `points`
  (landmarks of a candidate, 64 px scale), its band, and whether it decides the tone at all
  (`decided`; `why` not when it does not: a grey image, or cheeks too dark or too bright)."""
  lab_values = cheek_lab(lr, points)
  angle = ita_of_lab(lab_values)
  lightness = float(lab_values[0])
  why = ''
  if not np.isfinite(angle):
    why = 'the input has no colour'
  elif lightness < DARK_L:
    why = f'the input\'s skin is too dark to read (L* {lightness:.0f})'
  elif lightness > BRIGHT_L:
    why = f'the input\'s skin is washed out (L* {lightness:.0f})'
  return {'ita': angle, 'band': band(angle), 'lightness': lightness, 'decided': not why,
          'why': why}


def band_table(truth_ita: np.ndarray, values: dict[str, np.ndarray]) -> dict:
  """Per band of the truth's ITA: {band: {'faces': n, name: mean of values[name] over the
  band's faces}}, plus 'all'; values are per-face arrays (errors, 0/1 hits), NaN skipped."""
  truth_ita = np.asarray(truth_ita, np.float64)
  bands = np.array([band(a) for a in truth_ita])
  out = {}
  for name in [b[0] for b in BANDS] + ['no colour', 'all']:
    sel = np.ones(len(bands), bool) if name == 'all' else bands == name
    if not sel.any():
      continue
    row = {'faces': int(sel.sum())}
    for key, v in values.items():
      v = np.asarray(v, np.float64)[sel]
      row[key] = float(np.nanmean(v)) if np.isfinite(v).any() else float('nan')
    out[name] = row
  return out
