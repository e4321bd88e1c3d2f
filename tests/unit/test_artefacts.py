"""The artefact score (nam_jax/artefacts.py) tells a clean face from one with colour noise."""

import numpy as np

from nam_jax import artefacts


def _smooth_face(seed=0) -> np.ndarray:
  yy, xx = np.mgrid[0:64, 0:64] / 64.0
  base = np.stack([0.75 + 0.1 * yy, 0.55 + 0.05 * xx, 0.45 + 0.0 * yy], -1)
  # Fine brightness detail (as skin and hair have) is not an artefact.
  detail = 0.04 * np.random.default_rng(seed).normal(size=(64, 64, 1))
  return np.clip((base + detail) * 255, 0, 255).astype(np.uint8)


def test_clean_face_scores_low_and_checkerboard_high():
  clean = _smooth_face()
  checker = clean.astype(np.float64)
  yy, xx = np.mgrid[0:64, 0:64]
  board = ((yy + xx) % 2 * 2 - 1)[..., None] * np.array([-12.0, -6.0, 14.0])  # Purple/blue.
  checker = np.clip(checker + board, 0, 255).astype(np.uint8)
  assert artefacts.score(clean) < 1.0
  assert artefacts.score(checker) > 4 * artefacts.score(clean)


def test_blotches_outside_the_face_box_do_not_count():
  face = _smooth_face()
  face[:10] = np.random.default_rng(1).integers(0, 255, (10, 64, 3))
  assert artefacts.score(face) == artefacts.score(np.concatenate([_smooth_face()[:10],
                                                                  face[10:]]))


def test_scores_keep_leading_axes_and_accept_floats():
  faces = np.stack([_smooth_face(s) for s in range(6)]).reshape(2, 3, 64, 64, 3)
  out = artefacts.scores(faces)
  assert out.shape == (2, 3)
  as_float = faces.astype(np.float32) / 127.5 - 1
  np.testing.assert_allclose(artefacts.scores(as_float), out, rtol=1e-5)
