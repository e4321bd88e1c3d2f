"""SR-NAM search over all candidates (nam_jax/nam/search.py, chunks.py): one compilation,
vmap == loop, determinism, chunks, devices, descent, noise, the cheap start, early stopping."""

import os
import pathlib
import subprocess
import sys

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import test as test_cfg
from nam_jax.nam import invert, models, search, settings


ROOT = pathlib.Path(__file__).resolve().parents[2]
NAM_CFG = test_cfg.get_config().nam


@pytest.fixture(scope='module')
def model(job_settings):
  return models.load_model(job_settings())


@pytest.fixture(scope='module')
def opts(job_settings):
  return job_settings().options


def _targets(n, seed=0):
  return jax.random.uniform(jax.random.key(seed), (n, 16, 16, 3), minval=-1, maxval=1)


def _solve(keys, targets, model, opts):
  return search.solve(keys, targets, model.prior_params, model.degradation_vars,
                      nets=model.nets, opts=opts)


@pytest.mark.slow
def test_one_compilation_for_repeated_calls_of_one_shape(model, opts):
  solve = jax.jit(chex.assert_max_traces(search.solve_all, n=1),
                  static_argnames=('nets', 'opts'))
  keys = jax.vmap(lambda s: invert.candidate_key(0, s))(jnp.arange(4))
  for seed in range(3):  # New values, same shapes: no retrace.
    solve(keys, _targets(4, seed), model.prior_params, model.degradation_vars,
          nets=model.nets, opts=opts)
  with pytest.raises(AssertionError):  # A new shape would trace again, and is caught.
    solve(keys[:2], _targets(2), model.prior_params, model.degradation_vars, nets=model.nets,
          opts=opts)


def test_super_resolve_reuses_the_compiled_program(model, job_settings, monkeypatch):
  traces = []

  def counted(*args, **kwargs):
    traces.append(1)  # Runs once per trace, not per call.
    return search.steps_all(*args, **kwargs)

  monkeypatch.setattr(search, '_steps_program',
                      jax.jit(counted, static_argnames=('nets', 'opts', 'count')))
  lr_images = np.asarray(_targets(3))
  s = job_settings(seeds=2, max_batch=4)
  models.super_resolve(model, lr_images, s)  # 6 candidates: two chunks of 4, one trace.
  models.super_resolve(model, lr_images[::-1].copy(), s)
  assert len(traces) == 1
  models.super_resolve(model, lr_images, job_settings(seeds=2, max_batch=2))
  assert len(traces) == 2  # A new chunk size is a new program, and the counter sees it.


@pytest.mark.slow
def test_segments_equal_the_one_program_form(model, job_settings):
  """run (segments of steps, what infer.py uses) computes what solve (one program) does."""
  keys = jax.vmap(lambda s: invert.candidate_key(1, s))(jnp.arange(3))
  for extra in ({}, {'stop_patience': 2, 'stop_tol': 0.05}):
    opts = job_settings(steps=8, unroll=1, **extra).options
    assert search.segment_length(opts.steps) == 1
    args = (keys, _targets(3), model.prior_params, model.degradation_vars)
    one = search.solve(*args, nets=model.nets, opts=opts)
    seg = search.run(*args, nets=model.nets, opts=opts)
    for k in ('z', 'loss', 'history', 'steps_run'):
      np.testing.assert_allclose(seg[k], one[k], rtol=1e-5, atol=1e-6, err_msg=k)
  assert [search.segment_length(n) for n in (100, 300, 50, 37, 9)] == [10, 30, 5, 1, 1]


@pytest.mark.slow
def test_vmapped_result_equals_per_seed_loop(model, opts):
  keys = jax.vmap(lambda s: invert.candidate_key(3, s))(jnp.arange(3))
  targets = _targets(3)
  batched = _solve(keys, targets, model, opts)
  one = jax.jit(lambda k, t: invert.solve_one(k, t, model.prior_params,
                                              model.degradation_vars, nets=model.nets,
                                              opts=opts))
  for i in range(3):
    single = one(keys[i], targets[i])
    chex.assert_trees_all_close(batched['z'][i], single['z'], atol=1e-4, rtol=1e-4)
    chex.assert_trees_all_close(batched['history'][i], single['history'], atol=1e-5,
                                rtol=1e-4)
    final = invert.lr_l1(model.nets, model.prior_params, model.degradation_vars, single['z'],
                         single['noise'], targets[i])  # What the one final render measures.
    chex.assert_trees_all_close(batched['loss'][i], final, atol=1e-5, rtol=1e-4)


def test_same_rng_seed_same_outputs(model, job_settings):
  lr_images = np.asarray(_targets(2))
  a = models.super_resolve(model, lr_images, job_settings(seeds=3, rng_seed=7))
  b = models.super_resolve(model, lr_images, job_settings(seeds=3, rng_seed=7))
  c = models.super_resolve(model, lr_images, job_settings(seeds=3, rng_seed=8))
  np.testing.assert_array_equal(a['hr'], b['hr'])
  np.testing.assert_array_equal(a['loss'], b['loss'])
  assert not np.array_equal(a['hr'], c['hr'])
  # Different seeds of one image start from different latents: different candidates.
  assert np.abs(a['hr'][0, 0] - a['hr'][0, 1]).mean() > 1e-3


def test_chunking_does_not_change_results(model, job_settings):
  lr_images = np.asarray(_targets(3))
  whole = models.super_resolve(model, lr_images, job_settings(seeds=2, max_batch=64))
  chunked = models.super_resolve(model, lr_images, job_settings(seeds=2, max_batch=4))
  # Float noise only: XLA:CPU picks kernels (and summation orders) by batch size, and 6 Adam
  # steps carry that on (chunks of 6 and 3 here: at most 7e-4 apart on an AVX2 CPU).
  np.testing.assert_allclose(whole['hr'], chunked['hr'], atol=2e-3)
  np.testing.assert_allclose(whole['loss'], chunked['loss'], atol=2e-4)


@pytest.mark.slow
def test_program_reports_every_iteration_and_progress_off_is_silent(model, job_settings):
  keys = jax.vmap(lambda s: invert.candidate_key(0, s))(jnp.arange(3))
  loud = job_settings(progress=True, steps=20).options
  quiet = job_settings(progress=False, steps=20).options
  args = (keys, _targets(3), model.prior_params, model.degradation_vars)
  seen = []
  with search.watch(seen.append):
    out_loud = jax.block_until_ready(search.run(*args, nets=model.nets, opts=loud))
  assert seen == list(range(loud.steps))  # Once per iteration, in order.
  seen.clear()
  with search.watch(seen.append):
    out = jax.block_until_ready(search.run(*args, nets=model.nets, opts=quiet))
  assert not seen
  np.testing.assert_array_equal(out['z'], out_loud['z'])


def test_lr_l1_decreases_during_optimisation(model, job_settings):
  s = job_settings(steps=12, unroll=4, seeds=4)
  out = models.super_resolve(model, np.asarray(_targets(2)), s)
  first, last = out['history'][..., 0], out['loss']
  assert np.mean(last) < np.mean(first)
  assert np.mean(last < first) >= 0.75


@pytest.mark.parametrize('noise', ['zero', 'sample', 'optimise'])
def test_noise_modes(model, job_settings, noise):
  opts = job_settings(steps=3, unroll=1, noise=noise).options
  keys = jax.vmap(lambda s: invert.candidate_key(0, s))(jnp.arange(2))
  out = _solve(keys, _targets(2), model, opts)
  start = jax.vmap(lambda k: invert.initial_latents(k, model.prior_params, model.nets,
                                                    opts)[1])(keys)
  if noise == 'zero':  # Fixed at zero.
    assert not np.any(np.asarray(out['noise']))
  elif noise == 'sample':  # Drawn per seed, then held fixed.
    assert float(jnp.std(start)) > 0.5
    np.testing.assert_array_equal(out['noise'], start)
  else:  # Drawn per seed, then optimised along with the latent.
    assert float(jnp.std(start)) > 0.5
    assert float(jnp.max(jnp.abs(out['noise'] - start))) > 1e-4


def test_sphere_keeps_latents_on_the_sphere(model, job_settings):
  s = job_settings(steps=3, unroll=1, seeds=2, sphere=True)
  out = models.super_resolve(model, np.asarray(_targets(1)), s)
  np.testing.assert_allclose(np.linalg.norm(out['z'], axis=-1),
                             np.sqrt(model.nets.prior.latent_dim), rtol=1e-4)
  off = models.super_resolve(model, np.asarray(_targets(1)), job_settings(
      steps=3, unroll=1, seeds=2, sphere=False))
  assert np.abs(np.linalg.norm(off['z'], axis=-1) - np.sqrt(model.nets.prior.latent_dim)
                ).max() > 1e-3


def test_bad_options_and_inputs_are_clear_errors(model, job_settings):
  with pytest.raises(ValueError, match='noise must be one of'):
    job_settings(noise='loud')
  for bad in (0, -1):
    with pytest.raises(ValueError, match='seeds must be >= 1'):
      job_settings(seeds=bad)
  with pytest.raises(ValueError, match='learning_rate must be finite'):
    job_settings(learning_rate=float('nan'))
  with pytest.raises(ValueError, match='unknown inference settings: lr'):
    job_settings(lr=0.1)
  s = job_settings(seeds=2)
  with pytest.raises(ValueError, match='makes 16 px faces only'):  # The H2L network.
    models.super_resolve(model, np.zeros((1, 32, 32, 3), np.uint8), s)
  with pytest.raises(ValueError, match='square RGB faces'):
    models.super_resolve(model, np.zeros((1, 16, 12, 3), np.uint8), s)
  with pytest.raises(ValueError, match='NaN'):
    models.super_resolve(model, np.full((1, 16, 16, 3), np.nan, np.float32), s)


FOUR_DEVICES = '''
import sys, numpy as np, jax
from configs import test as test_cfg
from nam_jax.nam import models, settings
assert len(jax.devices()) == 4, jax.devices()
s = settings.from_config(test_cfg.get_config().nam, dict(
    steps=4, learning_rate=0.05, unroll=2, seeds=4, max_batch=64, progress=False,
    prior_ckpt=sys.argv[1] + '/progan', degradation_ckpt=sys.argv[1] + '/degrade'))
model = models.load_model(s)
lr = np.asarray(jax.random.uniform(jax.random.key(0), (3, 16, 16, 3), minval=-1, maxval=1))
four = models.super_resolve(model, lr, s)
from nam_jax.nam import search
assert search._steps_program._cache_size() == 1  # Every segment runs one compiled program.
one = models.super_resolve(model, lr, s, devices=jax.devices()[:1])
# Float reassociation differs with the per-device batch and Adam (noise optimised too, the
# default) amplifies it at a few pixels. Same candidates = every pixel within one 8-bit grey
# level (2/255), the mean difference far below it, and the same LR L1 to 1e-4.
diff = np.abs(four['hr'] - one['hr'])
assert diff.max() < 2 / 255 and diff.mean() < 1e-4, (diff.max(), diff.mean())
np.testing.assert_allclose(four['loss'], one['loss'], atol=1e-4)
print('SAME')
'''


@pytest.mark.slow
def test_four_host_devices_give_the_same_candidates(ckpts):
  flags = os.environ.get('XLA_FLAGS', '')  # conftest's XLA set-up, on 4 devices.
  env = dict(os.environ, XLA_FLAGS=f'{flags} --xla_force_host_platform_device_count=4',
             JAX_PLATFORMS='cpu')
  proc = subprocess.run([sys.executable, '-c', FOUR_DEVICES, str(ckpts)],
                        capture_output=True, text=True, env=env, timeout=600)
  assert proc.returncode == 0 and 'SAME' in proc.stdout, proc.stderr[-2000:]


@pytest.mark.slow
def test_cheap_start_picks_the_closest_of_its_own_pool(model, job_settings):
  """Each candidate starts from the pool latent (its own key's draws) whose re-degraded image
  is closest to the input; a pool of 1 is the plain random start."""
  pooled = job_settings(start_pool=6, noise='sample').options
  plain = job_settings(noise='sample').options
  target = _targets(1)[0]
  args = (model.prior_params, model.nets)
  for seed in range(3):
    key = invert.candidate_key(0, seed)
    z, n = invert.initial_latents(key, *args, pooled, target, model.degradation_vars)
    kz, _ = jax.random.split(key)
    pool = [model.nets.prior.initial_latent(model.prior_params, k)
            for k in jax.random.split(kz, 6)]
    losses = [float(invert.lr_l1(model.nets, model.prior_params, model.degradation_vars,
                                 p, n, target)) for p in pool]
    closest = int(np.argmin(losses))
    assert len(set(np.round(losses, 6))) > 1  # The pool's latents differ.
    chex.assert_trees_all_close(z, pool[closest], atol=1e-6)
    chosen = float(invert.lr_l1(model.nets, model.prior_params, model.degradation_vars, z, n,
                                target))
    assert chosen == pytest.approx(min(losses), abs=1e-6)
    z1, n1 = invert.initial_latents(key, *args, plain)
    np.testing.assert_array_equal(n1, n)  # The noise draw does not depend on the pool.
    np.testing.assert_array_equal(
        z1, model.nets.prior.initial_latent(model.prior_params, kz))


def test_stop_update_converged_and_far_behind():
  opts = settings.from_config(NAM_CFG, {'stop_patience': 2, 'stop_tol': 0.1,
                                        'stop_behind': 1.5}).options
  same = jnp.array([[1, 1, 0], [1, 1, 0], [0, 0, 1]], bool)
  best, since, active = jnp.full(3, jnp.inf), jnp.zeros(3, jnp.int32), jnp.ones(3, bool)
  best, since, active = search.stop_update(jnp.array([1.0, 2.0, 3.0]), best, since, active,
                                           same, opts)
  # Candidate 1 is 2x its input's best (candidate 0): far behind. Candidate 2 is alone.
  np.testing.assert_array_equal(active, [True, False, True])
  best, since, active = search.stop_update(jnp.array([0.95, 2.0, 2.0]), best, since, active,
                                           same, opts)
  np.testing.assert_array_equal(since, [1, 1, 0])  # 0.95 is within 10% of 1.0: no gain.
  np.testing.assert_array_equal(active, [True, False, True])
  best, since, active = search.stop_update(jnp.array([0.94, 2.0, 1.0]), best, since, active,
                                           same, opts)
  np.testing.assert_array_equal(active, [False, False, True])  # Two steps without a gain.
  np.testing.assert_allclose(best, [0.94, 2.0, 1.0])
  for bad in ({'stop_patience': -1}, {'stop_tol': float('nan')}, {'stop_behind': 0.5},
              {'start_pool': 0}):
    with pytest.raises(ValueError, match=next(iter(bad))):
      settings.from_config(NAM_CFG, bad)


@pytest.mark.slow
def test_stopped_candidates_are_frozen_and_the_loop_ends_when_all_stop(model, job_settings):
  keys = jax.vmap(lambda s: invert.candidate_key(0, s))(jnp.arange(4))
  targets = _targets(2).repeat(2, axis=0)
  eager = dict(stop_patience=2, stop_tol=0.02, learning_rate=0.05, unroll=1)
  short = _solve(keys, targets, model, job_settings(steps=12, **eager).options)
  long = _solve(keys, targets, model, job_settings(steps=40, **eager).options)
  run = np.asarray(long['steps_run'])
  assert run.min() < 12 and run.max() < 40  # Stopped early, at different steps.
  for c in np.nonzero(run < 12)[0]:  # Stopped within both runs: the same frozen result.
    np.testing.assert_array_equal(short['z'][c], long['z'][c])
    assert short['steps_run'][c] == run[c]
    h = np.asarray(long['history'][c])
    np.testing.assert_allclose(h[run[c] + 1:], h[-1], rtol=1e-5)  # Frozen loss after.
  # Stopping that never triggers runs the same steps as the plain program.
  never = _solve(keys, targets, model, job_settings(steps=6, unroll=1,
                                                    stop_patience=100).options)
  plain = _solve(keys, targets, model, job_settings(steps=6, unroll=1).options)
  np.testing.assert_array_equal(never['steps_run'], [6] * 4)
  chex.assert_trees_all_close(never['z'], plain['z'], atol=1e-4, rtol=1e-4)
  chex.assert_trees_all_close(never['history'], plain['history'], atol=1e-5, rtol=1e-4)


def test_chunks_are_as_few_and_even_as_max_batch_allows():
  from nam_jax.nam.chunks import chunk_size
  assert chunk_size(80, 64, 1) == 40       # Two chunks of 40, not 64 + 16 padded to 64.
  assert chunk_size(192, 64, 1) == 64 and chunk_size(16, 64, 1) == 16
  assert chunk_size(65, 64, 4) == 36       # A multiple of the devices.
  assert chunk_size(1, 8, 2) == 2          # At least one candidate per device.
  for total, limit, devices in [(80, 64, 2), (100, 64, 8), (7, 4, 1)]:
    size = chunk_size(total, limit, devices)
    assert size % devices == 0 and size <= max(limit, devices)
    assert -(-total // size) == -(-total // limit)  # No more chunks than needed.
