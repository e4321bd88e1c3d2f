"""Baseline SR networks: shapes, both trainers end to end (train, export, load, upsample)."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nam_jax.baselines import models, upsampler
from nam_jax.baselines import train as baselines_train
from nam_jax.degradations import h2l
from nam_jax.degrade import train as degrade_train


def test_generators_map_16_to_64_and_depend_on_the_input():
  x = jax.random.uniform(jax.random.key(0), (2, 16, 16, 3), minval=-1, maxval=1)
  for net in (models.LowToHigh((8, 8, 4), (1, 1, 2)), models.URDGN((8, 8, 4))):
    variables = net.init(jax.random.key(1), x)
    y = net.apply(variables, x)
    chex.assert_shape(y, (2, 64, 64, 3))
    assert float(jnp.mean(jnp.abs(y - net.apply(variables, -x)))) > 1e-4
    with pytest.raises(ValueError, match='16, 16, 3'):
      net.init(jax.random.key(1), jnp.zeros((1, 32, 32, 3)))


def test_low_to_high_has_17_blocks_in_groups_2_3_12():
  net = models.LowToHigh((8, 8, 4))
  params = net.init(jax.random.key(0), jnp.zeros((1, 16, 16, 3)))['params']
  assert sum(k.startswith('PreActBlock') for k in params) == 17


def test_bicubic_pairs_are_downsampled_hr(test_config):
  cfg = test_config.urdgn
  hr = jnp.ones((2, 64, 64, 3)) * 0.5
  lr_images = baselines_train.make_lr(cfg, hr, jax.random.key(0), None, {})
  chex.assert_shape(lr_images, (2, 16, 16, 3))
  np.testing.assert_allclose(lr_images, 0.5, atol=1e-5)


# The l2h case (about a minute: a 64 px critic with gradient penalty) runs with -m slow.
@pytest.mark.parametrize('network', [pytest.param('l2h', marks=pytest.mark.slow), 'urdgn'])
def test_train_export_load_upsample(test_config, tmp_path, network):
  config = test_config.copy_and_resolve_references()
  if network == 'l2h':  # Pairs from a (random-weight) test-size degradation model.
    d = degrade_train.init_state(config.degrade, jax.random.key(0))
    h2l.export(config.degrade, d.g_params, d.g_stats, tmp_path / 'degrader')
    config.l2h.degrader_ckpt = str(tmp_path / 'degrader')
  state = baselines_train.train(config, tmp_path / network, network)
  assert all(np.isfinite(x).all() for x in jax.tree.leaves(state.g_params))
  assert (tmp_path / network / 'images').glob(f'{network}_*.png')
  ups, variables, meta = upsampler.load(tmp_path / network / 'export')
  assert meta['network'] == network and ups.network == network
  lr_images = np.random.default_rng(0).integers(0, 255, (3, 16, 16, 3), dtype=np.uint8)
  out = upsampler.upsample(ups, variables, lr_images)
  chex.assert_shape(out, (3, 64, 64, 3))
  # A rerun finds the finished run and returns its state.
  again = baselines_train.train(config, tmp_path / network, network)
  chex.assert_trees_all_close(again.g_params, state.g_params)
