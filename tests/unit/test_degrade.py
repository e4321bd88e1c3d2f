"""The degradation GAN: shapes, noise diversity, gradient penalty, resume, non-finite guard."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from nam_jax import gan
from nam_jax.degrade import model
from nam_jax.degrade import train as degrade_train
from nam_jax.training import checkpoints, loop


@pytest.fixture(scope='module')
def cfg():
  from configs import test as test_cfg
  return test_cfg.get_config().degrade


def test_shapes_and_dependence_on_the_hr_face(cfg):
  state = degrade_train.init_state(cfg, jax.random.key(0))
  hr = jax.random.uniform(jax.random.key(5), (3, 64, 64, 3), minval=-1, maxval=1)
  out = model.degrade_images(cfg, state.g_params, state.g_stats, hr, jax.random.key(1))
  chex.assert_shape(out, (3, 16, 16, 3))
  # Same noise, a different HR face: a different LR face.
  other = model.degrade_images(cfg, state.g_params, state.g_stats, -hr, jax.random.key(1))
  assert float(jnp.mean(jnp.abs(out - other))) > 1e-4
  _, d = model.from_config(cfg)
  logits = d.apply({'params': state.d_params}, out)
  chex.assert_shape(logits, (3,))


def test_generator_rejects_wrong_input_size(cfg):
  g, _ = model.from_config(cfg)
  with pytest.raises(ValueError, match='64, 64, 3'):
    g.init(jax.random.key(0), jnp.zeros((1, 32, 32, 3)), jnp.zeros((1, cfg.noise_dim)))


def test_different_noise_gives_different_lr(cfg):
  state = degrade_train.init_state(cfg, jax.random.key(0))
  hr = jax.random.uniform(jax.random.key(2), (1, 64, 64, 3), minval=-1, maxval=1)
  a = model.degrade_images(cfg, state.g_params, state.g_stats, hr, jax.random.key(3))
  b = model.degrade_images(cfg, state.g_params, state.g_stats, hr, jax.random.key(4))
  c = model.degrade_images(cfg, state.g_params, state.g_stats, hr, jax.random.key(3))
  assert float(jnp.mean(jnp.abs(a - b))) > 1e-4
  chex.assert_trees_all_close(a, c)


@pytest.mark.slow  # 20 s of compilation; spectral norm is off in every shipped config.
def test_spectral_norm_critic_keeps_stats(cfg):
  sn = cfg.copy_and_resolve_references()
  sn.spectral_norm = True
  sn.delta = 0.0  # No perceptual term: no VGG16 weights needed here.
  state = degrade_train.init_state(sn, jax.random.key(0))
  assert jax.tree.leaves(state.d_stats)  # Power-iteration vectors exist.
  hr = jax.random.uniform(jax.random.key(2), (sn.n_critic + 1, 2, 64, 64, 3), minval=-1)
  lr_images = jax.random.uniform(jax.random.key(3), (sn.n_critic, 2, 16, 16, 3), minval=-1)
  before = jax.tree.map(np.array, state)  # Copies: the step donates its input state.
  new, metrics = degrade_train.make_step(sn)(state, hr, lr_images, jax.random.key(1), {})
  assert all(np.isfinite(float(v)) for v in metrics.values())
  # The returned state carries updated power-iteration vectors and critic weights, with
  # the same structure and shapes as before.
  chex.assert_trees_all_equal_shapes(new.d_stats, before.d_stats)
  moved = [float(np.abs(np.asarray(a) - b).max())
           for a, b in zip(jax.tree.leaves(new.d_stats), jax.tree.leaves(before.d_stats))]
  assert max(moved) > 1e-6
  assert float(optax.global_norm(jax.tree.map(lambda a, b: a - b, new.d_params,
                                              before.d_params))) > 0


def test_gradient_penalty_matches_hand_computation():
  # A linear critic D(x) = <w, x> has gradient w everywhere: penalty = (||w|| - 1)^2.
  w = jnp.array([[3.0, 0.0], [0.0, 4.0]])  # ||w|| = 5 -> (5 - 1)^2 = 16.
  critic = lambda x: jnp.sum(x * w, axis=(1, 2))
  real = jnp.ones((4, 2, 2))
  fake = -jnp.ones((4, 2, 2))
  gp = gan.gradient_penalty(critic, real, fake, jax.random.key(0))
  np.testing.assert_allclose(gp, 16.0, rtol=1e-5)
  # A quadratic critic D(x) = 0.5 ||x||^2 has gradient x_hat: check against x_hat directly.
  key = jax.random.key(7)
  real = jax.random.normal(jax.random.key(1), (5, 3))
  fake = jax.random.normal(jax.random.key(2), (5, 3))
  eps = jax.random.uniform(key, (5, 1))
  x_hat = eps * real + (1 - eps) * fake
  expected = jnp.mean((jnp.linalg.norm(x_hat, axis=1) - 1) ** 2)
  got = gan.gradient_penalty(lambda x: 0.5 * jnp.sum(x ** 2, axis=1), real, fake, key)
  np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_hinge_losses():
  np.testing.assert_allclose(gan.hinge_critic_loss(jnp.array([2.0, 0.0]), jnp.array([-2.0, 0.5])),
                             (0 + 1) / 2 + (0 + 1.5) / 2)
  np.testing.assert_allclose(gan.generator_loss(jnp.array([1.0, 3.0])), -2.0)


def _config(test_config, steps, **overrides):
  c = test_config.copy_and_resolve_references()
  c.degrade.update(steps=steps, ckpt_every=2, image_every=0, eval_samples=0, **overrides)
  return c


@pytest.mark.slow  # Three training runs (over a minute); CI runs it with the slow tests.
def test_killed_and_resumed_run_matches_uninterrupted(test_config, tmp_path, monkeypatch):
  straight = degrade_train.train(_config(test_config, 4), tmp_path / 'straight')

  real_check = loop.check_finite

  def killed_at_step_3(metrics, step, workdir):
    if step == 3:
      raise KeyboardInterrupt('killed')
    real_check(metrics, step, workdir)

  monkeypatch.setattr(loop, 'check_finite', killed_at_step_3)
  with pytest.raises(KeyboardInterrupt):
    degrade_train.train(_config(test_config, 4), tmp_path / 'resumed')
  assert checkpoints.manager(tmp_path / 'resumed' / 'checkpoints').latest_step() == 2
  monkeypatch.setattr(loop, 'check_finite', real_check)
  resumed = degrade_train.train(_config(test_config, 4), tmp_path / 'resumed')
  chex.assert_trees_all_close(resumed.g_params, straight.g_params, rtol=1e-5, atol=1e-6)
  chex.assert_trees_all_close(resumed.d_params, straight.d_params, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_non_finite_guard_fires_and_keeps_last_checkpoint(test_config, tmp_path):
  good = degrade_train.train(_config(test_config, 2), tmp_path)
  # Metrics are fetched at log steps (every 2 here): the NaN of step 2 is seen at step 3.
  with pytest.raises(loop.NonFiniteError, match=r'diverged at step 3 \(non-finite .*g_loss'):
    degrade_train.train(_config(test_config, 4, learning_rate=float('nan')), tmp_path)
  mngr = checkpoints.manager(tmp_path / 'checkpoints')
  assert mngr.latest_step() == 2
  step, restored, _ = checkpoints.restore_latest(mngr, good)
  chex.assert_trees_all_close(restored.g_params, good.g_params)
  assert all(np.isfinite(x).all() for x in jax.tree.leaves(restored.g_params))


@pytest.mark.slow
def test_diversity_term_acts_below_its_target_and_pushes_the_noise_to_matter(cfg):
  """Generator steps with only the diversity term: its metric is the L1 between two
  degradations of the same faces, and the steps raise it (the noise matters more)."""
  c = cfg.copy_and_resolve_references()
  c.diversity_weight, c.diversity_target, c.n_critic = 10.0, 1.0, 1
  c.learning_rate, c.alpha, c.beta, c.delta = 1e-3, 0.0, 0.0, 0.0  # Only diversity moves G.
  state = degrade_train.init_state(c, jax.random.key(0))
  step = degrade_train.make_step(c)
  hr = jax.random.uniform(jax.random.key(1), (2, 4, 64, 64, 3), minval=-1, maxval=1)
  lr_real = jax.random.uniform(jax.random.key(2), (1, 4, 16, 16, 3), minval=-1, maxval=1)
  spreads = []
  for k in range(3):
    state, m = step(state, hr, lr_real, jax.random.key(7), {})
    spreads.append(float(m['g_spread']))
  assert spreads[0] > 0 and spreads[-1] > spreads[0], spreads


def test_mixed_lr_faces_are_deterministic_and_use_every_kind():
  from nam_jax.data import camera_sim as simulate
  rng = np.random.default_rng(0)
  hr = rng.integers(0, 256, (40, 64, 64, 3), dtype=np.uint8)
  a = simulate.degrade_mixed(hr, 'wide', first_seed=5)
  chex.assert_shape(a, (40, 16, 16, 3))
  np.testing.assert_array_equal(a, simulate.degrade_mixed(hr, 'wide', first_seed=5))
  assert np.abs(a.astype(int) - simulate.degrade_mixed(hr, 'wide', first_seed=6)).mean() > 1
  kinds = [simulate.MIXES['wide'][0][0]]
  with pytest.raises(ValueError, match='unknown LR mix'):
    simulate.degrade_mixed(hr, 'nope', first_seed=0)
  # The bicubic kind is plain PIL bicubic: some faces match it exactly.
  from PIL import Image
  plain = np.stack([np.asarray(Image.fromarray(h).resize((16, 16), Image.BICUBIC)) for h in hr])
  same = np.all(a == plain, axis=(1, 2, 3))
  assert kinds == ['bicubic'] and 3 <= same.sum() <= 20  # About a quarter of 40.
