"""Scores of trained generators (nam_jax/progan/ema.py, nam_jax/degrade/scores.py)."""

import jax
import numpy as np
import pytest

from nam_jax.progan import ema
from nam_jax.progan import train as progan_train
from nam_jax.training import checkpoints


def test_progan_ema_and_raw_are_scored_apart(test_config, tmp_path):
  """A workdir whose EMA generator differs from its raw one gets two different Frechet
  distances, from the newest checkpoint; an empty workdir is a clear error."""
  cfg = test_config.progan
  state = progan_train.init_state(cfg, jax.random.key(0))
  state = state.replace(g_ema=jax.tree_util.tree_map(lambda x: 0.5 * x, state.g_ema))
  mngr = checkpoints.manager(tmp_path / 'wd' / 'checkpoints', cfg.keep_ckpts)
  checkpoints.save(mngr, 7, state, {})
  result = ema.progan_ema_vs_raw(test_config, tmp_path / 'wd')
  assert result['global_step'] == 7 and result['faces'] == cfg.eval_samples
  fvd_ema, fvd_raw = result['frechet_vgg16_64px_ema'], result['frechet_vgg16_64px_raw']
  assert np.isfinite(fvd_ema) and np.isfinite(fvd_raw) and fvd_ema != fvd_raw
  with pytest.raises(ValueError, match='no ProGAN checkpoint'):
    ema.progan_ema_vs_raw(test_config, tmp_path / 'empty')
