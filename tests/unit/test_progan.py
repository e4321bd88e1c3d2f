"""Progressive GAN: per-stage shapes, fade-in, equalized lr, minibatch stddev, EMA, resume."""

import json
import os
import pathlib
import subprocess
import sys

import chex
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from nam_jax import layers
from nam_jax.progan import model
from nam_jax.progan import train as progan_train
from nam_jax.training import checkpoints, loop

WIDTHS = (8, 8, 8, 8, 8)
LATENT = 16


@pytest.fixture(scope='module')
def nets():
  g, d = model.Generator(WIDTHS), model.Critic(WIDTHS)
  gp = g.init_all(jax.random.key(0), LATENT)
  dp = d.init_all(jax.random.key(1))
  return g, d, gp, dp


@pytest.mark.slow
def test_output_shape_per_stage(nets):
  g, d, gp, dp = nets
  z = jax.random.normal(jax.random.key(2), (3, LATENT))
  for stage in range(5):
    res = 4 * 2 ** stage
    x = g.apply(gp, z, stage, 0.5)
    chex.assert_shape(x, (3, res, res, 3))
    chex.assert_shape(d.apply(dp, x, stage, 0.5), (3,))


def test_generator_fade_in_endpoints(nets):
  g, _, gp, _ = nets
  z = jax.random.normal(jax.random.key(3), (2, LATENT))
  for stage in range(1, 5):
    new_alone = g.apply(gp, z, stage, 1.0)
    # alpha = 1: the previous stage's toRGB has no influence.
    params = jax.tree_util.tree_map_with_path(
        lambda p, x: x + 5.0 if f'to_rgb_{stage - 1}' in jax.tree_util.keystr(p) else x, gp)
    chex.assert_trees_all_close(g.apply(params, z, stage, 1.0), new_alone)
    # alpha = 0: the previous stage's output, nearest-upsampled.
    chex.assert_trees_all_close(g.apply(gp, z, stage, 0.0),
                                model.upsample(g.apply(gp, z, stage - 1, 1.0)), atol=1e-5)
    assert float(jnp.mean(jnp.abs(new_alone - g.apply(gp, z, stage, 0.0)))) > 1e-4


@pytest.mark.slow
def test_critic_fade_in_endpoints(nets):
  _, d, _, dp = nets
  for stage in range(1, 5):
    res = 4 * 2 ** stage
    x = jax.random.normal(jax.random.key(stage), (4, res, res, 3))
    chex.assert_trees_all_close(d.apply(dp, x, stage, 0.0),
                                d.apply(dp, layers.avg_pool(x), stage - 1, 1.0), atol=1e-5)


def test_real_images_fade_like_the_networks():
  x = jax.random.normal(jax.random.key(0), (2, 64, 64, 3))
  at16 = progan_train.real_at_stage(x, 2, 1.0)
  chex.assert_trees_all_close(at16, layers.avg_pool(x, 4), atol=1e-6)
  chex.assert_trees_all_close(progan_train.real_at_stage(x, 2, 0.0),
                              model.upsample(layers.avg_pool(x, 8)), atol=1e-6)


def test_equalized_learning_rate_scaling():
  x = jax.random.normal(jax.random.key(0), (2, 5, 5, 6))
  layer = model.EqConv(4, 3)
  params = layer.init(jax.random.key(1), x)
  w = params['params']['kernel']
  assert abs(float(jnp.std(w)) - 1.0) < 0.2  # Stored weights are N(0, 1) ...
  expected = jax.lax.conv_general_dilated(  # ... and scaled by sqrt(2 / fan_in) at run time.
      x, w * np.sqrt(2.0 / (3 * 3 * 6)), (1, 1), 'SAME',
      dimension_numbers=('NHWC', 'HWIO', 'NHWC'))
  chex.assert_trees_all_close(layer.apply(params, x), expected, atol=1e-5)
  dense = model.EqDense(3)
  v = jnp.ones((1, 8))
  dp = dense.init(jax.random.key(2), v)
  chex.assert_trees_all_close(dense.apply(dp, v),
                              v @ (dp['params']['kernel'] * np.sqrt(2.0 / 8)), atol=1e-5)


def test_pixel_norm():
  x = jnp.array([[[[3.0, 4.0]]]])
  np.testing.assert_allclose(model.pixel_norm(x), x / np.sqrt(12.5), rtol=1e-5)


def test_minibatch_stddev_matches_hand_computation():
  x = jnp.arange(4 * 2 * 2 * 3, dtype=jnp.float32).reshape(4, 2, 2, 3) ** 1.5
  out = model.minibatch_stddev(x, group=2)
  chex.assert_shape(out, (4, 2, 2, 4))
  chex.assert_trees_all_close(out[..., :3], x)
  xn = np.asarray(x, np.float64)
  # Groups of 2: samples {0, 2} and {1, 3}.
  for members in ((0, 2), (1, 3)):
    expected = np.mean(np.sqrt(np.var(xn[list(members)], axis=0) + 1e-8))
    for i in members:
      np.testing.assert_allclose(out[i, ..., 3], expected, rtol=1e-4)


def test_ema_update():
  ema = {'w': jnp.array([1.0, 2.0])}
  params = {'w': jnp.array([3.0, 6.0])}
  out = progan_train.ema_update(ema, params, 0.9)
  chex.assert_trees_all_close(out['w'], jnp.array([1.2, 2.4]))
  from configs import test as test_cfg
  cfg = test_cfg.get_config().progan
  assert progan_train.ema_decay(cfg, 0, 4) == pytest.approx(0.1)  # Warm-up: early weights.
  assert progan_train.ema_decay(cfg, 10**6, 4) == cfg.ema_decay
  by_images = cfg.copy_and_resolve_references()
  by_images.ema_half_life_images = 100
  # Same forgetting per image: 8 steps of batch 4 halve as much as 1 step of batch 32.
  assert progan_train.ema_decay(by_images, 10**6, 4) ** 8 == pytest.approx(
      progan_train.ema_decay(by_images, 10**6, 32))
  assert progan_train.ema_decay(by_images, 10**6, 100) == pytest.approx(0.5)


def test_schedule_counts_images_shown():
  cfg = ml_collections.ConfigDict(dict(fade_images=(100, 40, 80), stable_images=(40, 40, 38),
                                       batch_sizes=(4, 4, 2)))
  s = progan_train.Schedule.from_config(cfg)
  # The first stage never fades (nothing older to fade from); steps round up.
  assert s.fade_steps == (0, 10, 40) and s.stable_steps == (10, 10, 19)
  assert s.steps == (10, 20, 59) and s.total == 89 and s.images(2) == 118
  assert s.locate(0) == (0, 0) and s.locate(10) == (1, 0) and s.locate(35) == (2, 5)
  assert s.alpha(0, 3) == 1.0 and s.alpha(1, 0) == 0.0 and s.alpha(1, 5) == 0.5
  assert s.alpha(1, 10) == 1.0 and s.alpha(1, 19) == 1.0 and s.alpha(2, 20) == 0.5
  with pytest.raises(ValueError, match='one entry per stage'):
    progan_train.Schedule.from_config(ml_collections.ConfigDict(dict(
        fade_images=(0, 1), stable_images=(1, 1, 1), batch_sizes=(4, 4, 4))))


def _config(test_config):
  c = test_config.copy_and_resolve_references()
  c.progan.update(widths=(8, 8, 8), fade_images=(0, 4, 4), stable_images=(12, 8, 8),
                  batch_sizes=(4, 4, 4), ckpt_every=2, image_every=0, eval_samples=0)
  return c


@pytest.mark.slow
def test_each_stage_compiles_once(test_config, monkeypatch):
  cfg = _config(test_config).progan
  state = progan_train.init_state(cfg, jax.random.key(0))
  traces = []
  real_step = progan_train.train_step

  def counted(*args, **kwargs):
    traces.append(kwargs['stage'])  # Runs once per trace.
    return real_step(*args, **kwargs)

  monkeypatch.setattr(progan_train, 'train_step', counted)
  step = progan_train.make_step(cfg, 1)
  real = np.zeros((cfg.n_critic, 4, 64, 64, 3), np.float32)
  for i, alpha in enumerate((0.0, 0.3, 1.0)):  # alpha and decay change: no retrace.
    state, _ = step(state, real, np.float32(alpha), np.float32(0.9 + 0.01 * i),
                    jax.random.key(i))
  assert traces == [1]
  state, _ = progan_train.make_step(cfg, 2)(state, real, np.float32(0.5), np.float32(0.9),
                                            jax.random.key(9))
  assert traces == [1, 2]


@pytest.mark.slow  # Two ProGAN trainings (18 s); the kill trials kill and resume too.
def test_killed_and_resumed_run_matches_uninterrupted(test_config, tmp_path, monkeypatch):
  straight = progan_train.train(_config(test_config), tmp_path / 'straight')
  real_check = loop.check_finite

  def killed_mid_stage_1(metrics, step, workdir):
    if step == 4:  # Stage 1 spans global steps 3..5.
      raise KeyboardInterrupt('killed')
    real_check(metrics, step, workdir)

  monkeypatch.setattr(loop, 'check_finite', killed_mid_stage_1)
  with pytest.raises(KeyboardInterrupt):
    progan_train.train(_config(test_config), tmp_path / 'resumed')
  assert checkpoints.manager(tmp_path / 'resumed' / 'checkpoints').latest_step() == 4
  monkeypatch.setattr(loop, 'check_finite', real_check)
  resumed = progan_train.train(_config(test_config), tmp_path / 'resumed')
  chex.assert_trees_all_close(resumed.g_ema, straight.g_ema, rtol=1e-5, atol=1e-6)
  chex.assert_trees_all_close(resumed.d_params, straight.d_params, rtol=1e-5, atol=1e-6)


def test_generator_ignores_latent_scale(nets):
  # Pixel norm comes first: G(c z) = G(z) for c > 0, which is why pulling z toward the mean
  # latent 0 (Cheikh Sidiya eq. 9) cannot change a candidate (docs/design.md).
  g, _, gp, _ = nets
  z = jax.random.normal(jax.random.key(5), (2, LATENT))
  chex.assert_trees_all_close(g.apply(gp, 0.3 * z, 4, 1.0), g.apply(gp, z, 4, 1.0), atol=1e-4)


@pytest.mark.slow
def test_last_stage_wall_time_budget_stops_after_fade_in_and_holds_on_rerun(
    test_config, tmp_path):
  c = _config(test_config)
  c.progan.update(stable_images=(12, 8, 400), minutes=1e-6)  # Last stage: 1 + 100 steps.
  progan_train.train(c, tmp_path / 'run')
  mngr = checkpoints.manager(tmp_path / 'run' / 'checkpoints')
  # Stages 0 and 1 take 3 steps each; the budget ends stage 2 once its one fade step is done.
  assert mngr.latest_step() == 7
  meta = json.loads((tmp_path / 'run' / 'export' / 'model.json').read_text())
  assert meta['source']['images_shown'] == [12, 12, 4]
  progan_train.train(c, tmp_path / 'run')  # Budget spent: nothing more is trained.
  assert checkpoints.manager(tmp_path / 'run' / 'checkpoints').latest_step() == 7


TWO_DEVICES = '''
import jax, jax.numpy as jnp, numpy as np
from configs import test as test_cfg
from nam_jax import devices
from nam_jax.progan import train as progan_train
assert len(jax.devices()) == 2, jax.devices()
cfg = test_cfg.get_config().progan
state = progan_train.init_state(cfg, jax.random.key(0))
real = jax.random.uniform(jax.random.key(1), (cfg.n_critic, 8, 64, 64, 3), minval=-1, maxval=1)
args = (real, np.float32(0.5), np.float32(0.9), jax.random.key(2))
one, _ = progan_train.make_step(cfg, 1)(jax.tree.map(jnp.copy, state), *args)
mesh = devices.batch_mesh(8)
assert mesh.size == 2
# train() splits the batch from DATA_PARALLEL_FROM px up (16), one device below.
assert [progan_train.stage_mesh(s, 8).size for s in range(5)] == [1, 1, 2, 2, 2]
two, metrics = progan_train.make_step(cfg, 1, mesh)(
    jax.device_put(state, devices.replicated(mesh)), *args)
assert len(two.g_params['to_rgb_1']['kernel'].sharding.device_set) == 2
# Same step split over two devices: equal up to float reassociation of the summed gradients.
for a, b in zip(jax.tree.leaves(one), jax.tree.leaves(two)):
  np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=2e-4, atol=2e-5)
print('SAME')
'''


@pytest.mark.slow
def test_data_parallel_step_on_two_host_devices_equals_one_device():
  flags = os.environ.get('XLA_FLAGS', '')  # conftest's XLA set-up, on 2 devices.
  env = dict(os.environ, XLA_FLAGS=f'{flags} --xla_force_host_platform_device_count=2',
             JAX_PLATFORMS='cpu')
  proc = subprocess.run([sys.executable, '-c', TWO_DEVICES], capture_output=True, text=True,
                        env=env, timeout=600, cwd=pathlib.Path(__file__).resolve().parents[2])
  assert proc.returncode == 0 and 'SAME' in proc.stdout, proc.stderr[-2000:]
