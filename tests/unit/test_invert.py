"""One candidate's options and objective (nam_jax/nam/invert.py): the learning-rate schedules,
the camera's prior and the colour anchor."""

import pytest

from configs import test as test_cfg
from nam_jax.nam import invert, settings


NAM_CFG = test_cfg.get_config().nam


def test_learning_rate_schedules():
  """constant: learning_rate at every step; cosine: from learning_rate down to a tenth of it
  at the last step, never increasing."""
  const = invert.learning_rate_schedule(settings.from_config(NAM_CFG, {
      'steps': 10, 'learning_rate': 0.05}).options)
  assert [float(const(i)) for i in (0, 5, 9)] == pytest.approx([0.05] * 3)
  opts = settings.from_config(NAM_CFG, {'steps': 10, 'learning_rate': 0.05,
                                        'schedule': 'cosine'}).options
  cos = [float(invert.learning_rate_schedule(opts)(i)) for i in range(10)]
  assert cos[0] == pytest.approx(0.05) and cos[-1] == pytest.approx(0.005)
  assert all(b <= a for a, b in zip(cos, cos[1:]))
  with pytest.raises(ValueError, match='schedule must be one of'):
    settings.from_config(NAM_CFG, {'schedule': 'step'})


# --- The terms beside the LR L1: the degradation's prior and the colour anchor. ---

import dataclasses  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from nam_jax.degradations import camera  # noqa: E402


@dataclasses.dataclass(frozen=True)
class FlatPrior:
  """A toy face prior: the latent [3] is one colour over the whole 64 px face."""

  latent_shape: tuple = (3,)

  def initial_latent(self, params, key):
    return 0.1 * jax.random.normal(key, (3,))

  def generate(self, params, latents):
    return jnp.broadcast_to(jnp.tanh(latents)[:, None, None, :], (latents.shape[0], 64, 64, 3))

  def project(self, params, z):
    return z

  def mean_latent(self, params):
    return jnp.zeros(3)


def _options(**changes):
  base = settings.from_config(NAM_CFG, {'steps': 300, 'learning_rate': 0.05, 'unroll': 1,
                                        'noise': 'optimise', 'start_pool': 1,
                                        'progress': False}).options
  return dataclasses.replace(base, **changes)


def test_the_camera_prior_is_zero_for_a_neutral_camera_and_grows_away_from_it():
  assert float(camera.prior_penalty(jnp.zeros(camera.NUM_PARAMS))) == 0.0
  dark = jnp.zeros(camera.NUM_PARAMS).at[camera.GAIN].set(-1.0)  # Exposure down.
  darker = jnp.zeros(camera.NUM_PARAMS).at[camera.GAIN].set(-2.0)
  cast = jnp.zeros(camera.NUM_PARAMS).at[1].set(-1.0)  # Red alone down: a cast.
  assert 0 < float(camera.prior_penalty(dark)) < float(camera.prior_penalty(darker))
  # The same drop of one channel costs more as a cast than as part of an exposure change.
  assert float(camera.prior_penalty(cast)) > float(camera.prior_penalty(dark)) / 3
  blur = jnp.zeros(camera.NUM_PARAMS).at[camera.BLUR].set(3.0)
  assert float(camera.prior_penalty(blur)) == 0.0  # Blur is free.


def _search(target, **changes):
  nets = invert.Networks(FlatPrior(), camera.CameraDegradation())
  opts = _options(**changes)
  out = jax.jit(invert.solve_one, static_argnames=('nets', 'opts'))(
      jax.random.key(0), target, None, {}, nets=nets, opts=opts)
  return np.tanh(np.asarray(out['z'])), out


def test_the_camera_prior_keeps_a_dark_face_dark():
  """An input made by a neutral camera from a dark face: free, the camera explains part of
  it with a lighter face behind a darker camera; with its prior, the face stays nearer the
  truth."""
  truth = jnp.array([-0.3, -0.55, -0.65])
  hr = jnp.broadcast_to(truth, (1, 64, 64, 3))
  target = camera.CameraDegradation()({}, hr, jnp.zeros((1, camera.NUM_PARAMS)))[0]
  free, _ = _search(target)
  held, out = _search(target, noise_prior=0.05)
  assert np.abs(held - truth).mean() < np.abs(free - truth).mean()
  assert float(camera.prior_penalty(out['noise'])) < 1.0


def test_the_colour_anchor_pulls_the_face_to_the_input_colours():
  target = jnp.broadcast_to(jnp.array([-0.2, -0.4, -0.5]), (16, 16, 3))
  nets = invert.Networks(FlatPrior(), camera.CameraDegradation())
  z_right = jnp.arctanh(jnp.array([-0.2, -0.4, -0.5]))
  z_wrong = jnp.arctanh(jnp.array([0.5, 0.3, 0.2]))
  n = jnp.zeros(camera.NUM_PARAMS)
  obj = lambda z, **c: float(invert.objective(nets, _options(**c), None, {}, z, n, target))
  anchored = obj(z_wrong, colour_anchor=1.0) - obj(z_wrong)
  assert anchored == pytest.approx(np.mean(np.abs(np.tanh(z_wrong) - target[0, 0])), rel=1e-4)
  assert obj(z_right, colour_anchor=1.0) == pytest.approx(obj(z_right), abs=1e-6)
  with pytest.raises(ValueError, match='colour_anchor must be finite'):
    _options(colour_anchor=-1.0).__post_init__()
