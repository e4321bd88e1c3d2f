"""Where the answer is invented: the candidates' disagreement map and its calibration."""

import numpy as np

from nam_jax.nam import disagreement


def test_identical_candidates_agree_everywhere():
  c = np.tile(np.random.default_rng(0).uniform(-1, 1, (1, 8, 8, 3)), (4, 1, 1, 1))
  np.testing.assert_allclose(disagreement.spread_map(c), 0.0, atol=1e-12)
  assert disagreement.coverage(c, c[0]) == 1.0
  assert disagreement.error_correlation(c, c[0]) == 0.0  # Nothing to say.


def test_the_map_marks_where_candidates_differ_and_the_top_one_is_wrong():
  """Candidates that agree on the left half and differ on the right: the map is zero on the
  left; a truth off the top candidate on the right half correlates with the map, and the
  truth inside the candidates' range is covered."""
  rng = np.random.default_rng(1)
  base = rng.uniform(-0.5, 0.5, (8, 8, 3))
  c = np.repeat(base[None], 6, axis=0)
  c[:, :, 4:] += rng.uniform(-0.4, 0.4, (6, 8, 4, 3))
  spread = disagreement.spread_map(c)
  assert np.all(spread[:, :4] < 1e-12) and np.all(spread[:, 4:] > 0.01)
  truth = c[1].copy()  # Another candidate: inside the range everywhere.
  assert disagreement.coverage(c, truth) == 1.0
  assert disagreement.error_correlation(c, truth, top=0) > 0.5
  outside = c.max(axis=0) + 0.1
  assert disagreement.coverage(c, outside) == 0.0


def test_heat_runs_from_black_to_pale_and_stays_in_range():
  h = disagreement.heat(np.array([[0.0, disagreement.TOP / 2, disagreement.TOP, 9.0]]))
  assert h.shape == (1, 4, 3) and h.min() >= -1 and h.max() <= 1
  np.testing.assert_allclose(h[0, 0], -1.0)
  np.testing.assert_allclose(h[0, 2], h[0, 3])  # Saturates at TOP.
  assert h[0, 1].mean() > h[0, 0].mean() and h[0, 2].mean() > h[0, 1].mean()
