"""The coarse head (nam_jax/stylegan/coarse.py), its distillation (train_coarse.py) and the
search's coarse phase (nam_jax/nam/search.py, coarse_steps)."""

import pathlib
import subprocess
import sys

import chex
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from configs import test as test_cfg
from nam_jax.degradations import operators
from nam_jax.nam import invert, search
from nam_jax.stylegan import coarse, convert, head, model as msg
from nam_jax.stylegan import prior as stylegan_prior
from nam_jax.stylegan import train_coarse

ROOT = pathlib.Path(__file__).resolve().parents[2]
HEAD = head.HeadSpec(8, block=True, modulated=True)
COARSE = coarse.CoarseSpec(8)


@pytest.fixture(scope='module')
def prior_params():
  """The StyleGAN prior's params with a width-8 head and a width-8 coarse head."""
  net = msg.load_params(convert.ensure_converted())
  mean, radius = stylegan_prior.style_statistics(net['mapping'], samples=256)
  return {'mapping': net['mapping'], 'synthesis': net['synthesis'],
          'head': head.init(HEAD, jax.random.key(0), net['synthesis']),
          'coarse': coarse.init(COARSE, jax.random.key(1)), 'w_mean': mean, 'w_radius': radius}


def _cfg(**change):
  return ml_collections.ConfigDict({**test_cfg.get_config().stylegan_coarse.to_dict(), **change})


def test_coarse_faces_are_32_px_enlarged_to_64_and_round_trip_its_export(prior_params, tmp_path):
  w = jnp.broadcast_to(prior_params['w_mean'], (2, msg.STYLE_DIM))
  small, big = jax.jit(lambda w: (
      coarse.render32(COARSE, prior_params['coarse'], prior_params['synthesis'], w),
      coarse.render(COARSE, prior_params['coarse'], prior_params['synthesis'], w)))(w)
  chex.assert_shape(small, (2, coarse.SIZE, coarse.SIZE, 3))
  chex.assert_shape(big, (2, 64, 64, 3))
  np.testing.assert_allclose(big, coarse.enlarge(small), atol=1e-6)
  # The enlargement keeps a smooth face's colours: a flat 32 px image stays flat.
  np.testing.assert_allclose(coarse.enlarge(jnp.full((1, 32, 32, 3), 0.3)), 0.3, atol=1e-5)
  # The head's checkpoint with a coarse/ folder gives a prior with a coarse view.
  assert stylegan_prior.StyleGANPrior(HEAD).coarse_view() is None
  head.export(HEAD, prior_params['head'], tmp_path / 'head')
  coarse.export(COARSE, prior_params['coarse'], tmp_path / 'head' / coarse.FOLDER)
  loaded, params, _ = stylegan_prior.load(tmp_path / 'head')
  view = loaded.coarse_view()
  assert view.coarse and not loaded.coarse and view.coarse_spec == COARSE
  chex.assert_trees_all_close(params['coarse'], prior_params['coarse'])
  via_view, via_head = jax.jit(lambda w: (view.generate(params, w), loaded.generate(params, w)))(w)
  np.testing.assert_allclose(via_view, big, atol=1e-5)
  assert float(jnp.mean(jnp.abs(via_head - big))) > 1e-3


def test_distillation_styles_cover_w_and_w_plus(prior_params):
  cfg = _cfg()
  plain, mixed, either = jax.jit(lambda key: (
      train_coarse.draw_styles(key, prior_params, 6, cfg, w_plus=False),
      train_coarse.draw_styles(key, prior_params, 6, cfg, w_plus=True),
      train_coarse.draw_styles(key, prior_params, 64, cfg)))(jax.random.key(3))
  for w in (plain, mixed):
    chex.assert_shape(w, (6, msg.NUM_STYLES, msg.STYLE_DIM))
    chex.assert_tree_all_finite(w)
  rows_apart = lambda w: jnp.max(jnp.abs(w - w[:, :1]), axis=(1, 2))
  assert float(jnp.max(rows_apart(plain))) == 0.0     # W: every row the same style.
  assert float(jnp.min(rows_apart(mixed))) > 0.1      # W+: rows differ.
  share = float(jnp.mean(rows_apart(either) > 0))
  assert 0.25 < share < 0.75                          # w_plus_share 0.5 of a batch.
  # Truncation psi >= psi_min: styles no further from the mean than mapped ones go.
  distance = jnp.linalg.norm(plain[:, 0] - prior_params['w_mean'], axis=-1)
  assert float(jnp.max(distance)) < 3 * float(prior_params['w_radius'])


def test_distillation_steps_bring_the_coarse_face_to_the_heads(prior_params):
  cfg = _cfg(learning_rate=3e-3, batch_size=4)
  state = train_coarse.State(prior_params['coarse'],
                             train_coarse.optimizer(cfg).init(prior_params['coarse']))
  step = jax.jit(lambda s: train_coarse.train_step(s, jax.random.key(5), prior_params, cfg=cfg,
                                                    head_spec=HEAD))
  losses = []
  for _ in range(8):  # The same batch each step (the key decides it); loss before the step.
    state, m = step(state)
    chex.assert_tree_all_finite(m)
    losses.append(float(m['loss']))
  assert losses[-1] < 0.8 * losses[0]
  # Only the coarse head learns: the teacher's params are not in the state.
  assert jax.tree.structure(state.params) == jax.tree.structure(prior_params['coarse'])


def _nets(coarse_spec=COARSE):
  prior = stylegan_prior.StyleGANPrior(HEAD, coarse_spec=coarse_spec)
  return invert.Networks(prior, operators.KnownOperator('bicubic'))


def _opts(**change):
  base = dict(steps=4, learning_rate=0.03, b1=0.9, b2=0.999, noise='zero', sphere=True,
              mean_pull=0.0, unroll=1, schedule='constant', start='pool', start_pool=2,
              start_spread=1.0, encoder_share=1.0, stop_patience=0, stop_tol=0.01,
              stop_behind=0.0, coarse_steps=2, progress=False)
  return invert.Options(**{**base, **change})


def _run_twice(prior_params):
  nets, opts = _nets(), _opts()
  targets = jax.random.uniform(jax.random.key(6), (3, 16, 16, 3), minval=-1, maxval=1)
  keys = jnp.stack([invert.candidate_key(0, s) for s in range(3)])
  before = search._steps_program._cache_size()
  seg = search.run(keys, targets, prior_params, {}, nets=nets, opts=opts)
  again = search.run(keys, targets + 0.01, prior_params, {}, nets=nets, opts=opts)
  return nets, opts, keys, targets, seg, again, search._steps_program._cache_size() - before


@pytest.mark.slow  # 30 s: the MobileStyleGAN search programs of both phases compile.
def test_the_coarse_phase_renders_through_the_coarse_head_and_compiles_once(prior_params):
  nets, opts, keys, targets, seg, again, programs = _run_twice(prior_params)
  assert programs == 2  # One program per phase, for both calls.
  chex.assert_tree_all_finite(again['z'])
  # The start and the first steps are scored through the coarse render, the rest and the
  # final result through the full head.
  coarse_nets = search.coarse_nets(nets, opts)
  state = search._start_program(keys, targets, prior_params, {}, nets=coarse_nets, opts=opts)
  score = jax.jit(jax.vmap(lambda z, t, n: invert.lr_l1(n, prior_params, {}, z, jnp.zeros(0), t),
                           in_axes=(0, 0, None)), static_argnums=2)
  first = score(state['variables'][0], targets, coarse_nets)
  np.testing.assert_allclose(seg['history'][:, 0], first, rtol=1e-5)
  assert float(jnp.max(jnp.abs(score(state['variables'][0], targets, nets) - first))) > 1e-3
  np.testing.assert_allclose(seg['loss'], score(seg['z'], targets, nets), rtol=1e-5)


@pytest.mark.slow
def test_the_coarse_phase_in_segments_equals_the_one_program_form(prior_params):
  nets, opts, keys, targets, seg, _, _ = _run_twice(prior_params)
  one = search.solve(keys, targets, prior_params, {}, nets=nets, opts=opts)
  for k in ('z', 'loss', 'history'):
    np.testing.assert_allclose(seg[k], one[k], rtol=1e-5, atol=1e-5, err_msg=k)


def test_coarse_steps_need_a_coarse_head():
  with pytest.raises(ValueError, match='coarse_steps needs a face prior with a coarse head'):
    search.phases(_nets(coarse_spec=None), _opts())
  assert search.phases(_nets(coarse_spec=None), _opts(coarse_steps=0))[0][1] == 4
  with pytest.raises(ValueError, match=r'coarse_steps must be in \[0, steps=4\)'):
    _opts(coarse_steps=4)


@pytest.mark.slow
def test_the_coarse_stage_trains_exports_and_resumes(tmp_path):
  run = lambda steps: subprocess.run(
      [sys.executable, 'train.py', '--stage=stylegan_coarse', '--config=configs/test.py',
       f'--workdir={tmp_path}', f'--config.stylegan_coarse.steps={steps}'],
      cwd=ROOT, capture_output=True, text=True, timeout=600)
  first = run(2)
  assert first.returncode == 0, first.stderr[-2000:]
  assert 'held-out w_plus styles: PSNR at 32 px' in first.stdout + first.stderr
  spec, _, meta = coarse.load(tmp_path / 'export')
  assert spec == coarse.CoarseSpec(test_cfg.get_config().stylegan_coarse.width)
  assert meta['source']['steps'] == 2 and set(meta['source']['heldout']) == {'w', 'w_plus'}
  more = run(3)
  assert more.returncode == 0, more.stderr[-2000:]
  assert 'resumed from step 2' in more.stdout + more.stderr
  assert coarse.load(tmp_path / 'export')[2]['source']['steps'] == 3
