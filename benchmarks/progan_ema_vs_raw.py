"""Frechet VGG16 distance at 64 px of a ProGAN run's EMA generator and of its raw generator,
side by side, from the newest checkpoint of a training workdir (the same 500 HR test faces
and latents as the per-stage figures of training).

  python benchmarks/progan_ema_vs_raw.py --workdir=runs/progan_v2 --config=configs/cpu.py
"""

import pathlib

import jax
from absl import app, flags, logging
from ml_collections import config_flags

from nam_jax import files
from nam_jax.data import datasets
from nam_jax.progan import train as progan_train
from nam_jax.training import checkpoints

REPO = pathlib.Path(__file__).resolve().parents[1]
_CONFIG = config_flags.DEFINE_config_file('config', str(REPO / 'configs' / 'cpu.py'),
                                          'Config the workdir was trained with.')
_WORKDIR = flags.DEFINE_string('workdir', None, 'ProGAN training workdir.', required=True)
_OUT = flags.DEFINE_string('out', '', 'Also write the figures to this JSON file.')


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)
  config = _CONFIG.value
  cfg = config.progan
  mngr = checkpoints.manager(pathlib.Path(_WORKDIR.value) / 'checkpoints', cfg.keep_ckpts)
  restored = checkpoints.restore_latest(mngr, progan_train.init_state(cfg, jax.random.key(0)))
  if restored is None:
    raise SystemExit(f'error: no checkpoint in {_WORKDIR.value}')
  step, state, _ = restored
  stage = len(cfg.widths) - 1
  hr_test = datasets.take(datasets.hr_source(config.data, 'test'), cfg.eval_samples)
  result = {'global_step': step, 'faces': len(hr_test)}
  for name, params in (('ema', state.g_ema), ('raw', state.g_params)):
    result[f'frechet_vgg16_64px_{name}'] = progan_train.stage_fvd(config, params, stage, hr_test)
    print(f'{name}: Frechet VGG16 at 64 px {result[f"frechet_vgg16_64px_{name}"]:.2f}',
          flush=True)
  if _OUT.value:
    files.write_json(_OUT.value, result)


if __name__ == '__main__':
  app.run(main)
