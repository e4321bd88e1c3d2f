"""The simulated camera (nam_jax/data/camera_sim.py) that makes real-world-like LR faces."""

import numpy as np

from nam_jax.data import camera_sim as camera


def _face(seed=0):
  rng = np.random.default_rng(seed)
  yy, xx = np.mgrid[:64, :64]
  base = (128 + 60 * np.sin(xx / 7.0) * np.cos(yy / 9.0))[..., None]
  return np.clip(base + rng.normal(0, 10, (64, 64, 3)), 0, 255).astype(np.uint8)


def test_shapes_dtypes_and_params():
  lr, params = camera.degrade_face(_face(), seed=3)
  assert lr.shape == (16, 16, 3) and lr.dtype == np.uint8
  assert params.shape == (len(camera.PARAM_NAMES),) and params.dtype == np.float32
  assert np.all(np.isfinite(params))


def test_same_seed_same_output_and_other_seed_differs():
  hr = _face()
  a, pa = camera.degrade_face(hr, seed=11)
  b, pb = camera.degrade_face(hr, seed=11)
  c, pc = camera.degrade_face(hr, seed=12)
  np.testing.assert_array_equal(a, b)
  np.testing.assert_array_equal(pa, pb)
  assert not np.array_equal(pa, pc) and not np.array_equal(a, c)


def test_parameters_cover_their_ranges():
  params = np.stack([camera.sample_params(np.random.default_rng(s)) for s in range(400)])
  p = dict(zip(camera.PARAM_NAMES, params.T))
  assert set(np.unique(p['blur_kind'])) == {0, 1, 2}
  assert set(np.unique(p['resample'])) == set(range(len(camera.RESAMPLE_FILTERS)))
  assert p['jpeg_quality'].min() >= 30 and p['jpeg_quality'].max() <= 95
  assert p['gamma'].min() >= 0.7 - 1e-6 and p['gamma'].max() <= 1.4 + 1e-6


def test_blur_kernels_are_normalised():
  for kind in (0, 1, 2):
    k = camera.blur_kernel(kind, 1.5, 0.8, 0.3, 5.0)
    assert k.shape[0] % 2 == 1 and k.shape[0] == k.shape[1]
    np.testing.assert_allclose(k.sum(), 1.0, rtol=1e-5)
    assert k.min() >= 0
