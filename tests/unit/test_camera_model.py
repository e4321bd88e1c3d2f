"""The differentiable camera (nam_jax/degradations/camera.py) and its tie to the simulated one."""

import jax
import jax.numpy as jnp
import numpy as np

from nam_jax import images
from nam_jax.degradations import camera
from nam_jax.data import camera_sim as simulate
from nam_jax.degradations import operators


def test_camera_parameters_stay_in_their_ranges():
  raw = 50.0 * jax.random.normal(jax.random.key(0), (64, camera.NUM_PARAMS))
  p = jax.vmap(camera.camera_params)(raw)
  gamma, m, bias, sigma = (np.asarray(p[k]) for k in ('gamma', 'matrix', 'bias', 'sigma'))
  assert np.all((gamma >= np.exp(-camera.LOG_GAMMA) - 1e-6) &
                (gamma <= np.exp(camera.LOG_GAMMA) + 1e-6))
  diag = np.diagonal(m, axis1=1, axis2=2)
  assert np.all((diag >= np.exp(-camera.LOG_GAIN) - 1e-6) &
                (diag <= np.exp(camera.LOG_GAIN) + 1e-6))
  off = m - np.einsum('bi,ij->bij', diag, np.eye(3))
  assert np.abs(off).max() <= camera.CROSS_MAX + 1e-6
  assert np.abs(bias).max() <= camera.BIAS_MAX + 1e-6
  assert sigma.min() >= camera.SIGMA_MIN - 1e-6 and sigma.max() <= camera.SIGMA_MAX + 1e-6


def test_camera_at_its_sharpest_is_the_bicubic_operator(faces):
  """Identity colour, gamma 1 and the narrowest blur: within 0.005 of plain bicubic."""
  hr = jnp.asarray(images.as_float(faces[:2]))
  raw = jnp.zeros((2, camera.NUM_PARAMS)).at[:, 13:15].set(-20.0)
  cam = camera.CameraDegradation()({}, hr, raw)
  ref = operators.KnownOperator('bicubic')({}, hr, None)
  assert float(jnp.mean(jnp.abs(cam - ref))) < 0.005


def test_the_model_reproduces_the_simulated_cameras_it_can_represent(faces):
  """Simulated cameras (mild, Gaussian or no blur) in the model's terms: where they lie inside
  its ranges, the model's raw vector gives back their physical parameters and the model's
  image is the simulator's optics shrunk bicubically (noise and JPEG aside); most mild
  cameras are inside."""
  hr = faces[0]
  inside, seen = 0, 0
  for seed in range(40):
    params = simulate.sample_params(np.random.default_rng([seed, 7]), 'mild')
    physical = simulate.model_camera(params)
    if physical is None:  # Motion blur: not in the model.
      continue
    seen += 1
    raw, ok = camera.raw_from_camera(physical)
    if not ok:
      continue
    inside += 1
    back = camera.camera_params(jnp.asarray(raw))
    np.testing.assert_allclose(back['gamma'], physical['gamma'], rtol=1e-4)
    np.testing.assert_allclose(back['matrix'], physical['matrix'], atol=1e-4)
    np.testing.assert_allclose(back['bias'], physical['bias'], atol=1e-4)
    if physical['sigma'][0] > 0:
      np.testing.assert_allclose(back['sigma'], physical['sigma'], rtol=1e-3)
    want = operators.resize(jnp.asarray(simulate.optics(hr, params)), 16, 'bicubic') * 2 - 1
    got = camera.apply_one(jnp.asarray(raw), jnp.asarray(images.as_float(hr[None]))[0])
    assert float(jnp.mean(jnp.abs(got - jnp.clip(want, -1, 1)))) < 0.01, seed
  assert seen >= 25 and inside >= seen // 2, (inside, seen)


def test_a_camera_outside_the_model_is_clipped_into_its_ranges():
  wild = {'gamma': 3.0, 'matrix': np.diag([0.2, 1.0, 1.0]), 'bias': np.full(3, 0.5),
          'sigma': np.array([9.0, 9.0]), 'angle': 0.0}
  raw, ok = camera.raw_from_camera(wild)
  assert not ok and np.all(np.isfinite(raw))
  back = camera.camera_params(jnp.asarray(raw))
  assert float(back['gamma']) <= np.exp(camera.LOG_GAMMA) + 1e-5
  assert float(back['sigma'].max()) <= camera.SIGMA_MAX + 1e-5
