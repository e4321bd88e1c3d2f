"""The evaluation suite: known values for a perfect method and for bicubic, table, merging."""

import numpy as np
import pytest
from skimage import data, transform
from skimage.metrics import structural_similarity

from nam_jax.eval import metrics, suite


@pytest.fixture(scope='module')
def test_set():
  crops = [data.astronaut()[40:210, 130:300], data.astronaut()[40:210, 130:300][:, ::-1]]
  hr = np.stack([(transform.resize(c, (64, 64), anti_aliasing=True) * 255).astype(np.uint8)
                 for c in crops])
  lr_images = np.stack([(transform.resize(h, (16, 16), anti_aliasing=True) * 255
                         ).astype(np.uint8) for h in hr])
  return suite.TestSet('toy', lr_images, hr, ('a', 'b'))


def test_a_method_that_returns_the_truth_scores_perfectly(test_set):
  perfect = suite.Method('truth', lambda x: (test_set.hr.astype(np.float32) / 127.5 - 1)[:, None])
  two = suite.Method('truth x2', lambda x: (np.repeat(
      (test_set.hr.astype(np.float32) / 127.5 - 1)[:, None], 2, axis=1),
      {'lr_l1': np.array([0.1, 0.3]), 'reach': np.array([0.0, 0.2])}))
  results, outputs = suite.evaluate([perfect, two], test_set)
  r = results['truth']
  assert r['psnr'] == float('inf') and r['ssim'] == pytest.approx(1.0)
  assert r['lpips'] == pytest.approx(0.0, abs=1e-6)
  assert r['heatmap'] == 0.0 and r['nme'] == 0.0 and r['identity'] == 0.0
  assert r['identity_kept'] == 1.0 and r['diversity'] == 0.0
  assert results['truth x2']['diversity'] == pytest.approx(0.0, abs=1e-6)  # Identical twins.
  assert outputs['truth'].shape == (2, 1, 64, 64, 3)
  assert 'reach' not in r and 'lr_l1' not in r   # No degradation: no fit figures.
  assert results['truth x2']['lr_l1'] == pytest.approx(0.2)
  assert results['truth x2']['reach'] == pytest.approx(0.1)


def test_bicubic_scores_match_direct_computation(test_set):
  up = metrics.bicubic_upsample(test_set.lr_images)
  bicubic = suite.Method('bicubic', lambda x: (metrics.bicubic_upsample(x).astype(np.float32)
                                               / 127.5 - 1)[:, None])
  results, _ = suite.evaluate([bicubic], test_set)
  r = results['bicubic']
  expected_ssim = np.mean([structural_similarity(u, h, channel_axis=-1, data_range=255)
                           for u, h in zip(up, test_set.hr)])
  assert r['ssim'] == pytest.approx(expected_ssim, rel=1e-6)
  assert r['psnr'] == pytest.approx(np.mean([metrics.psnr(u, h)
                                             for u, h in zip(up, test_set.hr)]))
  assert 0 < r['lpips'] < 1 and r['psnr'] == r['psnr_oracle']
  table = suite.markdown_table(results)
  assert table.splitlines()[2].startswith('| bicubic | ') and 'Frechet VGG16' in table


def test_rankings_pick_by_fit_by_consensus_and_by_both():
  from nam_jax.eval import ranking
  rng = np.random.default_rng(0)
  desc = rng.normal(size=(2, 6, 128)) * 0.01
  desc[:, 0] += 5.0   # Candidate 0: far from every other; the others agree.
  loss = np.tile(np.array([0.01, 0.5, 0.4, 0.3, 0.2, 0.6]), (2, 1))
  picks = ranking.rankings(loss, desc)
  assert list(picks['lr_l1']) == [0, 0]
  assert picks['consensus'][0] != 0 and picks['most neighbours'][0] != 0
  assert picks['consensus of best 3'][0] in (3, 4)  # Not 0, the best fit that stands alone.
  assert picks['lr_l1 + 1.0 consensus'][0] == 4  # Best fit among those that agree.


def test_rank_scores_fit_blend_and_diverged_last():
  from nam_jax.nam import rank
  desc = np.zeros((1, 4, 128))
  desc[0, 0, 0] = 5.0   # Candidate 0 fits best but stands alone; 1-3 agree.
  loss = np.array([[0.05, 0.06, 0.30, np.nan]])
  assert rank.order(loss, None, 'fit').tolist() == [[0, 1, 2, 3]]
  blend = rank.order(loss, desc, 'blend')
  assert blend[0, 0] == 1 and blend[0, -1] == 3  # Good fit that agrees first; NaN last.
  with pytest.raises(ValueError, match='unknown ranking'):
    rank.scores(loss, desc, 'vote')
