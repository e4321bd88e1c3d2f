"""Offline re-ranking of kept candidates (nam_jax/eval/rerank.py) and the tone figure
(nam_jax/eval/tone_plot.py), on made-up figures."""

import numpy as np
import pytest

from nam_jax import skin
from nam_jax.eval import rerank, tone_plot


def _figures():
  rng = np.random.default_rng(0)
  n, s = 4, 5
  identity = rng.uniform(0.4, 0.9, (n, s))
  return {'loss': rng.uniform(0.03, 0.1, (n, s)), 'ita_truth': np.array([60.0, 30, -5, np.nan]),
          'identity': identity, 'nme': rng.uniform(0.03, 0.08, (n, s)),
          'lpips': rng.uniform(0.1, 0.3, (n, s)), 'ita_error': rng.uniform(0, 30, (n, s)),
          'tone_gap': rng.uniform(0, 20, (n, s)), 'descriptors': rng.normal(size=(n, s, 128)),
          'input_descriptors': rng.normal(size=(n, 128)), 'artefacts': rng.uniform(1, 5, (n, s))}


def test_rankings_and_their_top_figures():
  f = _figures()
  ranked = rerank.candidate_rankings(f)
  fit = rerank.top_figures(f, ranked['fit'])
  top = np.argmin(f['loss'], axis=1)
  assert fit['kept'] == np.mean(f['identity'][np.arange(4), top] < 0.6)
  assert fit['kept_any'] == np.mean(f['identity'].min(1) < 0.6)
  oracle = rerank.top_figures(f, ranked['oracle (identity)'])
  assert oracle['kept'] == oracle['kept_any'] >= fit['kept']
  assert fit['bands']['all']['faces'] == 4 and fit['bands']['no colour']['faces'] == 1
  # With only the tone term, the top candidate is the one with the smallest gap at equal fit.
  f['loss'][:] = 0.05
  tone_only = rerank.candidate_rankings(f)['input input=0.0 consensus=0.0 artefacts=0.0 tone=0.5']
  assert (np.argmin(tone_only, 1) == np.argmin(f['tone_gap'], 1)).all()
  assert 'mean kept' in rerank.markdown({'fit': {'s': fit}})
  named = rerank.candidate_rankings(f, grid=False, weights=rerank.parse_weights(
      ['gap:tone=0.5', 'id:input=1']))
  np.testing.assert_array_equal(named['gap'], tone_only)  # The same weights, the same scores.
  assert set(named) == {'fit', 'blend', 'input (default)', 'oracle (identity)', 'gap', 'id'}
  table = rerank.band_markdown({'fit': {'s': fit}})
  assert '| fit | s |' in table and 'very light' in table
  with pytest.raises(ValueError, match='NAME:TERM=W'):
    rerank.parse_weights(['id:face=1'])


def test_the_tone_figure_is_written(tmp_path):
  per_face = {'ita_truth': [60.0, 30.0, None], 'ita': [55.0, 20.0, None]}
  bands = skin.band_table(np.array([60.0, 30.0, np.nan]), {'ita_error': np.array([5.0, 10, 0])})
  results = {'a': {'per_face': per_face, 'bands': bands, 'ita_error': 7.5},
             'b': {'per_face': per_face, 'bands': bands, 'ita_error': 7.5}}
  path = tone_plot.plot(results, 'test', tmp_path / 'tone.png')
  assert path.is_file() and path.stat().st_size > 10_000


def _raw(path, faces, fill):
  """A raw file as evaluate.py writes it: one baseline and one SR-NAM method."""
  n, s = len(faces), 3
  cands = np.full((n, s, 64, 64, 3), fill, np.uint8)
  cands[:, :, 0, 0] = np.arange(s)[None, :, None]  # Each candidate marks its rank.
  np.savez(path, faces=np.array(faces), lr=np.zeros((n, 16, 16, 3), np.float32),
           hr=np.zeros((n, 64, 64, 3), np.float32), methods=np.array(['bicubic', 'sr_nam']),
           **{'m0/candidates': cands[:, :1], 'm1/candidates': cands})
  return path


def test_the_tops_grid_sets_runs_side_by_side(tmp_path):
  from nam_jax.eval import tops_grid
  a = _raw(tmp_path / 'a.npz', ['x', 'y', 'z'], 40)
  b = _raw(tmp_path / 'b.npz', ['x', 'y', 'z'], 200)
  grid = tops_grid.build([a, b], ['a', 'b'], top=2, faces=2)
  # A label row and 2 faces; input, truth, then 2 candidates per run, 64 px cells, 2 px pads.
  assert grid.shape == (3 * 66 + 2, 6 * 66 + 2, 3)
  first_face = grid[66 + 2:66 + 2 + 64]
  cell = lambda j: first_face[:, 2 + j * 66:2 + j * 66 + 64]
  assert cell(2)[10, 10, 0] == 40 and cell(4)[10, 10, 0] == 200  # Run a, then run b.
  assert cell(3)[0, 0, 0] == 1  # The second candidate of run a (its rank mark).
  with pytest.raises(ValueError, match='faces differ'):
    tops_grid.build([a, _raw(tmp_path / 'c.npz', ['x', 'q', 'z'], 9)], ['a', 'c'])
  with pytest.raises(ValueError, match='labels'):
    tops_grid.build([a, b], ['a'])
