"""A no-reference score of the artefacts a face prior's search can leave: coloured
checkerboards, blotches and speckle that a photographed face does not have.

Searching far outside the prior's usual styles (W+) leaves high-frequency colour where a
face has smooth skin: blue or purple checkerboards and blotches. Photographed faces, even
small and sharp ones, keep their colour (chroma) smooth and put their fine detail in
brightness. The score is the root mean square of the chroma's high frequencies inside the
face (YCbCr, BT.601, 8-bit units; the image minus a Gaussian blur of sigma 1 px at 64 px),
measured on the central FACE_BOX where skin dominates: 0 for a flat face, about 1-3 for
photographed faces, higher where colour noise was invented. Lower is cleaner.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

# Central square of an aligned 64 px face (left, top, right, bottom): cheeks, nose, mouth.
FACE_BOX = (16, 20, 48, 56)


def chroma(image: np.ndarray) -> np.ndarray:
  """(Cb, Cr) [H, W, 2] in 8-bit units of an RGB image (uint8, or float in [-1, 1])."""
  x = np.asarray(image)
  x = x.astype(np.float64) if x.dtype == np.uint8 else (x.astype(np.float64) + 1) * 127.5
  y = x @ np.array([0.299, 0.587, 0.114])
  return np.stack([(x[..., 2] - y) * 0.564, (x[..., 0] - y) * 0.713], -1)


def score(image: np.ndarray) -> float:
  """Chroma high-frequency RMS (8-bit units) inside FACE_BOX of one face [64, 64, 3]."""
  c = chroma(image)
  high = c - np.stack([ndimage.gaussian_filter(c[..., k], 1.0, mode='reflect')
                       for k in range(2)], -1)
  left, top, right, bottom = (int(round(v * c.shape[0] / 64)) for v in FACE_BOX)
  return float(np.sqrt(np.mean(high[top:bottom, left:right] ** 2)))


def scores(faces: np.ndarray) -> np.ndarray:
  """score of each face of [..., 64, 64, 3] -> [...]."""
  faces = np.asarray(faces)
  flat = faces.reshape((-1,) + faces.shape[-3:])
  return np.array([score(f) for f in flat]).reshape(faces.shape[:-3])
