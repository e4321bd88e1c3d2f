"""The LR-face encoder (nam_jax/stylegan/encoder.py, train_encoder.py) and the search's start
modes (nam_jax/nam/invert.initial_latents: pool, random, encoder)."""

import dataclasses

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import test as test_cfg
from nam_jax.degradations import camera, operators
from nam_jax.nam import invert, search, settings
from nam_jax.stylegan import convert, encoder, head, model as msg
from nam_jax.stylegan import prior as stylegan_prior
from nam_jax.stylegan import train_encoder

CFG = test_cfg.get_config()
SPEC = train_encoder.spec_of(CFG.encoder)


@pytest.fixture(scope='module')
def prior_params():
  """The StyleGAN prior's params with a width-8 head and a test-size encoder."""
  net = msg.load_params(convert.ensure_converted())
  mean, radius = stylegan_prior.style_statistics(net['mapping'], samples=256)
  spec = head.HeadSpec(8, block=True)
  params = {'mapping': net['mapping'], 'synthesis': net['synthesis'],
            'head': head.init(spec, jax.random.key(0), net['synthesis']),
            'w_mean': mean, 'w_radius': radius,
            'encoder': {'params': encoder.init(SPEC, jax.random.key(1)),
                        'spread': jnp.full((msg.STYLE_DIM,), 0.5)}}
  return spec, params


def test_encoder_shapes_starts_and_export(tmp_path):
  params = encoder.init(SPEC, jax.random.key(0))
  lr = jax.random.uniform(jax.random.key(1), (3, 16, 16, 3), minval=-1, maxval=1)
  mean, radius = jnp.ones((msg.STYLE_DIM,)), jnp.float32(2.0)
  style, cam = encoder.predict(SPEC, params, mean, radius, lr)
  chex.assert_shape(style, (3, msg.STYLE_DIM))
  chex.assert_shape(cam, (3, camera.NUM_PARAMS))
  chex.assert_trees_all_close(style, jnp.broadcast_to(mean, style.shape))  # Zero-initialised.
  spread = jnp.linspace(0.1, 1.0, msg.STYLE_DIM)
  k = encoder.starts(style[0], spread, jax.random.key(2), 5)
  chex.assert_shape(k, (5, msg.STYLE_DIM))
  chex.assert_trees_all_close(k[0], style[0])  # The prediction itself first.
  ratio = jnp.std(k[1:] - style[0], axis=0) / spread
  assert 0.3 < float(jnp.mean(ratio)) < 1.5
  encoder.export(SPEC, params, spread, tmp_path / 'enc', {'steps': 0})
  spec, loaded, meta = encoder.load(tmp_path / 'enc')
  assert spec == SPEC and meta['source'] == {'steps': 0}
  chex.assert_trees_all_close(loaded['spread'], spread)
  chex.assert_trees_all_equal_shapes(loaded['params'], params)


def test_a_warm_start_takes_an_exported_encoders_params_and_counts_its_steps(tmp_path):
  trained = jax.tree.map(lambda x: x + 0.5, encoder.init(SPEC, jax.random.key(3)))
  encoder.export(SPEC, trained, jnp.ones((msg.STYLE_DIM,)), tmp_path / 'enc', {'steps': 7})
  fresh, done = train_encoder.warm_start(CFG.encoder, jax.random.key(0))
  assert done == 0
  chex.assert_trees_all_equal(fresh, encoder.init(SPEC, jax.random.key(0)))
  cfg = CFG.encoder.copy_and_resolve_references()
  cfg.init_ckpt = str(tmp_path / 'enc')
  params, done = train_encoder.warm_start(cfg, jax.random.key(0))
  assert done == 7
  chex.assert_trees_all_close(params, trained)
  cfg.dense = CFG.encoder.dense * 2
  with pytest.raises(ValueError, match='init_ckpt'):
    train_encoder.warm_start(cfg, jax.random.key(0))


def test_the_pairs_follow_the_slots_and_the_held_out_pipeline_is_refused(prior_params):
  head_spec, params = prior_params
  with pytest.raises(ValueError, match="'phone' pipeline is never trained on"):
    train_encoder.check_kinds(('bicubic', 'phone'))
  pairs = train_encoder.Pairs(params, head_spec, ('bicubic', 'mild', 'bayer'), 3)
  lr, w, hr = pairs(jax.random.key(0), first_seed=5)
  chex.assert_shape([lr, w, hr], [(3, 16, 16, 3), (3, msg.STYLE_DIM), (3, 64, 64, 3)])
  assert float(jnp.max(jnp.abs(lr))) <= 1.0
  again = pairs(jax.random.key(0), first_seed=5)
  chex.assert_trees_all_equal(lr, again[0])  # A function of the key and seeds.
  # Slot 0 is plain bicubic of the face.
  from PIL import Image
  from nam_jax import images
  bicubic = np.asarray(Image.fromarray(images.to_uint8(np.asarray(hr[0]))).resize(
      (16, 16), Image.BICUBIC))
  np.testing.assert_allclose(np.asarray(lr[0]), images.to_float(bicubic), atol=1e-6)


def test_training_steps_lower_the_encoders_loss(prior_params):
  head_spec, params = prior_params
  cfg = CFG.encoder
  pairs = train_encoder.Pairs(params, head_spec, ('bicubic', 'mild'), 4)
  lr, w, hr = pairs(jax.random.key(3), first_seed=0)
  init = encoder.init(SPEC, jax.random.key(0))
  state = train_encoder.State(init, train_encoder.optax.adam(1e-3).init(init))
  step = jax.jit(lambda s: train_encoder.train_step(s, lr, w, hr, params, {}, cfg=cfg,
                                                     head_spec=head_spec))
  losses = []
  for _ in range(6):
    state, m = step(state)
    losses.append(float(m['loss']))
  chex.assert_tree_all_finite(state.params)
  assert losses[-1] < losses[0], losses


def _nets(head_spec, degradation, with_encoder=True):
  prior = stylegan_prior.StyleGANPrior(head_spec, encoder_spec=SPEC if with_encoder else None)
  return invert.Networks(prior, degradation)


def _opts(**changes):
  base = settings.from_config(CFG.nam, dict(prior='stylegan', steps=2, unroll=1,
                                            progress=False)).options
  return dataclasses.replace(base, **changes)


def test_start_modes(prior_params):
  """random: the seed's draw; pool: the closest of the pool; encoder: at spread 0 exactly the
  prediction (camera too), with spread the candidates differ; a prior without an encoder is
  refused."""
  head_spec, params = prior_params
  target = jax.random.uniform(jax.random.key(4), (16, 16, 3), minval=-1, maxval=1)
  cam_nets = _nets(head_spec, camera.CameraDegradation())
  key = jax.random.key(7)
  z_random, _ = invert.initial_latents(key, params, cam_nets, _opts(start='random',
                                                                    start_pool=4), target)
  z_first, _ = invert.initial_latents(key, params, cam_nets, _opts(start='pool', start_pool=1),
                                      target)
  chex.assert_trees_all_close(z_random, z_first)
  z_pool, _ = invert.initial_latents(key, params, cam_nets, _opts(start='pool', start_pool=4),
                                     target)
  assert z_pool.shape == (msg.STYLE_DIM,)
  centre, cam = cam_nets.prior.encode(params, target)
  z0, n0 = invert.initial_latents(key, params, cam_nets,
                                  _opts(start='encoder', start_spread=0.0, start_pool=1), target)
  chex.assert_trees_all_close(z0, centre)
  chex.assert_trees_all_close(n0, cam)
  z1, _ = invert.initial_latents(key, params, cam_nets,
                                 _opts(start='encoder', start_spread=1.0, start_pool=1), target)
  z2, _ = invert.initial_latents(jax.random.key(8), params, cam_nets,
                                 _opts(start='encoder', start_spread=1.0, start_pool=1), target)
  assert float(jnp.max(jnp.abs(z1 - z2))) > 0.1
  ratio = float(jnp.std(z1 - centre) / 0.5)
  assert 0.5 < ratio < 1.5, ratio
  with pytest.raises(ValueError, match='encoder'):
    invert.initial_latents(key, params, _nets(head_spec, camera.CameraDegradation(), False),
                           _opts(start='encoder'), target)


def test_the_mixed_start_keeps_the_closer_of_a_random_draw_and_a_draw_near_the_prediction(
    prior_params):
  head_spec, params = prior_params
  target = jax.random.uniform(jax.random.key(4), (16, 16, 3), minval=-1, maxval=1)
  nets = _nets(head_spec, camera.CameraDegradation())
  opts = _opts(start='mixed', start_pool=2, start_spread=1.0, encoder_share=1.0)
  key = jax.random.key(7)
  z, n = invert.initial_latents(key, params, nets, opts, target)
  centre, cam = nets.prior.encode(params, target)
  chex.assert_trees_all_close(n, cam)  # The camera starts where the encoder predicts it.
  kz = jax.random.split(jax.random.split(key)[0], 2)
  random_draw = nets.prior.initial_latent(params, kz[0])
  near = nets.prior.draw_near(params, centre, kz[1], 1.0)
  if opts.sphere:
    random_draw, near = nets.prior.project(params, random_draw), nets.prior.project(params, near)
  losses = [float(invert.objective(nets, opts, params, {}, w, n, target))
            for w in (random_draw, near)]
  chex.assert_trees_all_close(z, (random_draw, near)[int(np.argmin(losses))], atol=1e-5)
  assert float(jnp.max(jnp.abs(random_draw - near))) > 0.1  # Two different draws.


def test_the_encoder_share_picks_evenly_spread_candidates():
  picked = [bool(invert.near_encoder(p, 0.25)) for p in range(16)]
  assert [p for p in range(16) if picked[p]] == [3, 7, 11, 15]
  assert [p for p in range(8) if invert.near_encoder(p, 0.5)] == [1, 3, 5, 7]
  assert all(bool(invert.near_encoder(p, 1.0)) for p in range(4))
  assert not any(bool(invert.near_encoder(p, 0.0)) for p in range(16))


def test_a_mixed_candidate_outside_the_encoder_share_draws_at_random_only(prior_params):
  head_spec, params = prior_params
  target = jax.random.uniform(jax.random.key(4), (16, 16, 3), minval=-1, maxval=1)
  nets = _nets(head_spec, camera.CameraDegradation())
  key = jax.random.key(7)
  shared = _opts(start='mixed', start_pool=4, start_spread=1.0, encoder_share=0.5)
  # Place 0 is outside a share of 0.5: the closest of 4 random draws (the camera predicted).
  z_out, n_out = invert.initial_latents(key, params, nets, shared, target, place=0)
  _, cam = nets.prior.encode(params, target)
  chex.assert_trees_all_close(n_out, cam)
  # The pool's choice depends on the noise the candidate starts with; compare like with like.
  kz = jax.random.split(jax.random.split(key)[0], 4)
  draws = [nets.prior.initial_latent(params, k) for k in kz]
  if shared.sphere:
    draws = [nets.prior.project(params, w) for w in draws]
  losses = [float(invert.objective(nets, shared, params, {}, w, n_out, target)) for w in draws]
  chex.assert_trees_all_close(z_out, draws[int(np.argmin(losses))], atol=1e-5)
  # Place 1 is inside: its start is the full mixed start's.
  z_in, _ = invert.initial_latents(key, params, nets, shared, target, place=1)
  z_all, _ = invert.initial_latents(key, params, nets, _opts(
      start='mixed', start_pool=4, start_spread=1.0, encoder_share=1.0), target)
  chex.assert_trees_all_close(z_in, z_all, atol=1e-6)


def test_the_vmapped_search_with_the_encoder_start_compiles_once(prior_params):
  head_spec, params = prior_params
  nets = _nets(head_spec, operators.KnownOperator('bicubic'))
  opts = _opts(start='encoder', start_pool=2, steps=4, noise='zero')
  inputs = jax.random.uniform(jax.random.key(0), (2, 16, 16, 3), minval=-1, maxval=1)
  targets = jnp.repeat(inputs, 3, axis=0)  # Candidates: 2 inputs x 3 seeds.
  keys = jnp.stack([invert.candidate_key(0, s) for _ in range(2) for s in range(3)])
  before = search._start_program._cache_size()
  out = search.run(keys, targets, params, {}, nets=nets, opts=opts)
  again = search.run(keys, targets + 0.01, params, {}, nets=nets, opts=opts)
  assert search._start_program._cache_size() == before + 1
  chex.assert_shape(out['z'], (6, msg.STYLE_DIM))
  chex.assert_tree_all_finite(again['z'])


def test_the_encoder_checkpoint_is_loaded_only_for_the_encoder_starts():
  cfg = test_cfg.get_config().nam
  assert settings.from_config(cfg, dict(prior='stylegan', start='pool')).encoder_ckpt == ''
  assert settings.from_config(cfg, dict(prior='stylegan', start='random')).encoder_ckpt == ''
  default = settings.from_config(cfg, dict(prior='stylegan'))  # The StyleGAN prior's default.
  assert (default.options.start, default.options.encoder_share) == ('mixed', 0.5)
  assert default.encoder_ckpt.endswith(cfg.priors.stylegan.encoder_ckpt)
  # `auto`: inputs searched through bicubic downsampling start mixed too (docs/skin_tone.md,
  # "Bicubic LR with the default"); a start the user gives holds for both.
  auto = settings.from_config(cfg, dict(prior='stylegan', degradation='auto'))
  assert auto.for_degradation('bicubic').options.start == 'mixed'
  assert auto.for_degradation('camera').options.start == 'mixed'
  pool = settings.from_config(cfg, dict(prior='stylegan', degradation='auto', start='pool'))
  assert pool.for_degradation('bicubic').options.start == 'pool'
  assert settings.from_config(cfg, dict(prior='progan')).options.start == 'pool'
  s = settings.from_config(cfg, dict(prior='stylegan', start='encoder'))
  assert s.encoder_ckpt.endswith(cfg.priors.stylegan.encoder_ckpt)
  mine = settings.from_config(cfg, dict(prior='stylegan', start='encoder', encoder_ckpt='x/y'))
  assert mine.encoder_ckpt == 'x/y'
  with pytest.raises(ValueError, match="face prior 'progan' has no LR-face encoder"):
    settings.from_config(cfg, dict(prior='progan', start='encoder'))
  with pytest.raises(ValueError, match='start must be one of'):
    settings.from_config(cfg, dict(start='nearby'))


def test_an_evaluate_sweep_with_an_encoder_start_loads_its_own_model():
  """evaluate.py --settings=NAME:start=mixed (or encoder) must not reuse a pool-start job's
  model, which has no encoder."""
  import evaluate
  cfg = test_cfg.get_config().nam
  plain = settings.from_config(cfg, dict(prior='stylegan', start='pool'))
  for start in ('encoder', 'mixed'):
    assert evaluate._networks(settings.from_config(cfg, dict(prior='stylegan', start=start))
                              ) != evaluate._networks(plain)
