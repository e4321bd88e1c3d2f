"""Face-specific metrics with dlib: 68 landmarks, SR-NAM's landmark heatmap metric, landmark
NME and identity distance between a super-resolved face and its true HR face.

Models: dlib's HOG frontal face detector, the 68-point shape predictor and the 128-d face
recognition ResNet, from the face-recognition-models package (CC0), run by dlib-bin.

How 64x64 faces are measured: dlib's 68-point predictor and its detector were trained on
faces of 80 px and more, and its documentation advises upsampling small images, so every face
is upsampled 4x (bicubic, to 256 px) before dlib sees it; landmarks are reported back in 64 px
coordinates. The face box is found ONCE, on the true HR face (HOG detector on the 256 px
image; where it finds none, a fixed box over the aligned face), and the SAME box is used for
the output's landmarks, so both landmark sets answer the same question.

- heatmap metric (SR-NAM eq. 7): (1/N) sum_n sum_ij (M^_n,ij - M_n,ij)^2 over the N = 68
  landmarks, where M_n is a Gaussian heatmap (peak 1, sigma 1 px at 64 px) at landmark n of
  the true face and M^_n the same for the output. 0 when the landmarks coincide; it saturates
  at 2*pi*sigma^2 (about 6.3) when they are far apart.
- NME: mean landmark distance divided by the true face's inter-ocular distance (outer eye
  corners, points 36 and 45).
- identity distance: Euclidean distance of dlib descriptors (each computed from the face's
  own landmarks); below 0.6 dlib calls two faces the same person.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.util
import pathlib

import numpy as np
from PIL import Image

UPSAMPLE = 4
HEATMAP_SIGMA = 1.0
SAME_PERSON = 0.6
# Fallback face box at 64 px (left, top, right, bottom) when the detector finds no face.
FIXED_BOX = (12, 18, 52, 58)


def _models_dir() -> pathlib.Path:
  spec = importlib.util.find_spec('face_recognition_models')
  if spec is None or not spec.submodule_search_locations:
    raise FileNotFoundError('face metrics need the face-recognition-models package: run the '
                            'set-up command in README.md')
  return pathlib.Path(spec.submodule_search_locations[0]) / 'models'


@functools.lru_cache(maxsize=1)
def dlib_models():
  try:
    import dlib
  except ImportError as e:
    raise ImportError('face metrics need dlib (the dlib-bin wheel): run the set-up command '
                      'in README.md') from e
  d = _models_dir()
  return (dlib, dlib.get_frontal_face_detector(),
          dlib.shape_predictor(str(d / 'shape_predictor_68_face_landmarks.dat')),
          dlib.face_recognition_model_v1(str(d / 'dlib_face_recognition_resnet_model_v1.dat')))


def _big(image: np.ndarray) -> np.ndarray:
  from nam_jax.images import as_uint8
  im = as_uint8(image)
  size = im.shape[0] * UPSAMPLE
  return np.ascontiguousarray(np.asarray(Image.fromarray(im).resize((size, size),
                                                                    Image.BICUBIC)))


def face_box(image: np.ndarray) -> tuple[tuple[int, int, int, int], bool]:
  """(box at 64 px scale, found by the detector?) of one face image."""
  _, detector, _, _ = dlib_models()
  rects = detector(_big(image), 0)
  if not len(rects):
    return FIXED_BOX, False
  r = max(rects, key=lambda r: r.width() * r.height())
  return tuple(v / UPSAMPLE for v in (r.left(), r.top(), r.right(), r.bottom())), True


def _shape(big: np.ndarray, box):
  dlib, _, predictor, _ = dlib_models()
  rect = dlib.rectangle(*[int(round(v * UPSAMPLE)) for v in box])
  return predictor(big, rect)


def landmarks(image: np.ndarray, box) -> np.ndarray:
  """68 landmarks [68, 2] (x, y) at the image's own scale, predicted inside `box`."""
  shape = _shape(_big(image), box)
  return np.array([[p.x, p.y] for p in shape.parts()], np.float64) / UPSAMPLE


def descriptor(image: np.ndarray, box) -> np.ndarray:
  """dlib's 128-d identity descriptor of the face inside `box`."""
  _, _, _, recognizer = dlib_models()
  big = _big(image)
  return np.array(recognizer.compute_face_descriptor(big, _shape(big, box)))


def heatmaps(points: np.ndarray, size: int = 64, sigma: float = HEATMAP_SIGMA) -> np.ndarray:
  """Gaussian heatmaps [N, size, size] (peak 1) at points [N, 2] (x, y)."""
  grid = np.arange(size, dtype=np.float64)
  gx = np.exp(-(grid[None, :] - points[:, :1]) ** 2 / (2 * sigma ** 2))   # [N, size]
  gy = np.exp(-(grid[None, :] - points[:, 1:]) ** 2 / (2 * sigma ** 2))
  return gy[:, :, None] * gx[:, None, :]


def heatmap_metric(points: np.ndarray, truth_points: np.ndarray, size: int = 64) -> float:
  """SR-NAM eq. 7 on Gaussian heatmaps of two landmark sets [N, 2]."""
  diff = heatmaps(points, size) - heatmaps(truth_points, size)
  return float(np.mean(np.sum(diff ** 2, axis=(1, 2))))


def nme(points: np.ndarray, truth_points: np.ndarray) -> float:
  """Mean landmark distance / inter-ocular distance (outer eye corners 36, 45) of the truth."""
  iod = np.linalg.norm(truth_points[36] - truth_points[45])
  return float(np.mean(np.linalg.norm(points - truth_points, axis=1)) / iod)


@dataclasses.dataclass(frozen=True)
class Truth:
  """What the metrics need from a true HR face, computed once per face."""

  box: tuple
  detected: bool
  points: np.ndarray
  descriptor: np.ndarray


def truth(image: np.ndarray) -> Truth:
  box, found = face_box(image)
  return Truth(box, found, landmarks(image, box), descriptor(image, box))


def compare(image: np.ndarray, t: Truth) -> dict[str, float]:
  """heatmap metric, NME and identity distance of one output against its true face, and
  the output's own landmarks ('points' [68, 2], found in the truth's box)."""
  points = landmarks(image, t.box)
  return {'heatmap': heatmap_metric(points, t.points), 'nme': nme(points, t.points),
          'identity': float(np.linalg.norm(descriptor(image, t.box) - t.descriptor)),
          'points': points}
