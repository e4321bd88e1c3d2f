"""LPIPS and the dlib face metrics against known values."""

import numpy as np
import pytest
from scipy import ndimage
from skimage import data, transform

from nam_jax import faces
from nam_jax.eval import lpips


@pytest.fixture(scope='module')
def face64():
  """The astronaut's face (public domain), 64x64 uint8."""
  crop = data.astronaut()[40:210, 130:300]
  return (transform.resize(crop, (64, 64), anti_aliasing=True) * 255).astype(np.uint8)


def test_lpips_is_zero_for_identical_images_and_grows_with_damage(face64):
  blurred = ndimage.gaussian_filter(face64.astype(float), (1, 1, 0)).astype(np.uint8)
  noise = np.random.default_rng(0).integers(0, 255, face64.shape, dtype=np.uint8)
  d = lpips.lpips(np.stack([face64] * 3), np.stack([face64, blurred, noise]))
  assert d[0] == pytest.approx(0.0, abs=1e-6)
  assert 0.02 < d[1] < d[2]
  # Symmetric, and float input in [-1, 1] equals uint8 input.
  np.testing.assert_allclose(lpips.lpips(blurred[None], face64[None]), d[1:2], rtol=1e-5)
  np.testing.assert_allclose(lpips.lpips(face64[None].astype(np.float32) / 127.5 - 1,
                                         blurred[None].astype(np.float32) / 127.5 - 1),
                             d[1:2], rtol=1e-4)


def test_heatmap_metric_matches_the_gaussian_overlap_formula():
  rng = np.random.default_rng(0)
  points = rng.uniform(16, 48, (68, 2))
  assert faces.heatmap_metric(points, points) == 0.0
  # Two unit-peak Gaussians of std s, d apart: sum (G_a - G_b)^2 = 2 pi s^2 (1 - e^(-d^2/4s^2)).
  s = faces.HEATMAP_SIGMA
  for d in (0.5, 1.0, 3.0, 10.0):
    shifted = points + np.array([d, 0.0])
    expected = 2 * np.pi * s ** 2 * (1 - np.exp(-d ** 2 / (4 * s ** 2)))
    assert faces.heatmap_metric(shifted, points) == pytest.approx(expected, rel=1e-3)


def test_nme_of_a_hand_made_landmark_set():
  truth = np.zeros((68, 2))
  truth[36], truth[45] = (10.0, 20.0), (30.0, 20.0)  # Inter-ocular distance 20 px.
  moved = truth + np.array([3.0, 4.0])               # Every point 5 px away.
  assert faces.nme(moved, truth) == pytest.approx(0.25)
  assert faces.nme(truth, truth) == 0.0


def test_dlib_metrics_on_a_real_face(face64):
  t = faces.truth(face64)
  assert t.detected and t.points.shape == (68, 2) and t.descriptor.shape == (128,)
  same = faces.compare(face64, t)
  assert {k: same[k] for k in ('heatmap', 'nme', 'identity')} == {
      'heatmap': 0.0, 'nme': 0.0, 'identity': 0.0}
  np.testing.assert_array_equal(same['points'], t.points)  # Its own landmarks, in the same box.
  blurred = ndimage.gaussian_filter(face64.astype(float), (1.5, 1.5, 0)).astype(np.uint8)
  b = faces.compare(blurred, t)
  mirrored = faces.compare(np.ascontiguousarray(face64[:, ::-1]), t)
  assert 0 < b['nme'] < mirrored['nme']            # Mirroring moves landmarks more than blur.
  assert b['identity'] < faces.SAME_PERSON         # A blurred face is still the same person.


def test_candidates_of_known_identity_group_by_person():
  """The three aligned faces of examples/photos/group.jpg (the astronaut; Grace Hopper at 1/2
  and at 1/8 size), each twice (mirrored, slightly brighter): two people, so two groups,
  ordered by their best-ranked member."""
  import pathlib
  from nam_jax.data import align, folder
  from nam_jax.nam import groups
  photo = folder.read_rgb(pathlib.Path(__file__).resolve().parents[2] / 'examples' /
                          'photos' / 'group.jpg')
  found = [f for f in align.find_faces(photo) if not f.problem][:3]
  people = [align.crop(photo, f.quad, 64) for f in found]
  assert len(people) == 3
  twins = [np.clip(p[:, ::-1].astype(int) + 12, 0, 255).astype(np.uint8) for p in people]
  cands = np.stack([people[0], twins[1], people[2], twins[0], people[1], twins[2]])
  desc = groups.descriptors(cands)
  order = np.arange(6)
  got = groups.cluster(desc, order)
  assert got == [[0, 3], [1, 2, 4, 5]], got
  assert groups.cluster(desc[:1], order[:1]) == [[0]]
  index, dist = groups.nearest_group(desc, got, desc[4])
  assert index == 1 and dist < 0.35
