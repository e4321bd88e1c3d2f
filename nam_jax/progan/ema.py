"""The ProGAN's EMA generator against its raw one: Frechet VGG16 at 64 px of a training
workdir's two generators, side by side (`python evaluate.py --generators=progan_ema
--workdir=DIR`).
"""

from __future__ import annotations

import pathlib

import jax

from nam_jax.data import datasets
from nam_jax.progan import train as progan_train
from nam_jax.training import checkpoints


def progan_ema_vs_raw(config, workdir) -> dict:
  """Frechet VGG16 distance at 64 px of the EMA and the raw generator of the newest checkpoint
  of a ProGAN training workdir (the same HR test faces and latents as the per-stage figures of
  training); ValueError when the workdir holds no checkpoint."""
  cfg = config.progan
  mngr = checkpoints.manager(pathlib.Path(workdir) / 'checkpoints', cfg.keep_ckpts)
  restored = checkpoints.restore_latest(mngr, progan_train.init_state(cfg, jax.random.key(0)))
  if restored is None:
    raise ValueError(f'no ProGAN checkpoint in {workdir}')
  step, state, _ = restored
  stage = len(cfg.widths) - 1
  hr_test = datasets.take(datasets.hr_source(config.data, 'test'), cfg.eval_samples)
  result = {'global_step': step, 'faces': len(hr_test)}
  for name, params in (('ema', state.g_ema), ('raw', state.g_params)):
    result[f'frechet_vgg16_64px_{name}'] = progan_train.stage_fvd(config, params, stage, hr_test)
  return result
