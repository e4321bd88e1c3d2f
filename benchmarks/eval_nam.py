"""Scores SR-NAM settings on the real-world LR test split (with HR ground truth).

  python benchmarks/eval_nam.py --images=8 --seeds=16 \
      --settings='default:' --settings='sphere:sphere=True' --settings='lr1e-2:lr=0.01'
Each --settings is NAME:key=value,... over nam_jax.nam.invert.Options (steps, lr, noise,
sphere, mean_pull, unroll); unspecified keys come from config.nam. Each setting's scores are
written to --out (JSON) as soon as it finishes; rerunning with the same faces and seeds skips
settings already there with the same options. Prints a table.
"""

import dataclasses
import json
import os
import sys

from absl import app, flags, logging
from ml_collections import config_flags

sys.path.insert(0, '.')
from nam_jax import images  # noqa: E402
from nam_jax.data import datasets  # noqa: E402
from nam_jax.nam import evaluate, main as nam_main, report, run as run_lib  # noqa: E402

_CONFIG = config_flags.DEFINE_config_file('config', 'configs/cpu.py', 'Config file.')
_IMAGES = flags.DEFINE_integer('images', 8, 'Test faces to use.')
_SEEDS = flags.DEFINE_integer('seeds', 16, 'Candidates per face.')
_SETTINGS = flags.DEFINE_multi_string('settings', ['default:'], 'NAME:key=value,...')
_OUT = flags.DEFINE_string('out', 'docs/nam_eval.json', 'Where to write the figures.')
_GRID = flags.DEFINE_integer('grid_faces', 8, 'Faces in the comparison grid written next to '
                             '--out for each setting (0 = none).')
_PROGAN = flags.DEFINE_string('progan_ckpt', 'checkpoints/progan_cpu', 'Generator.')
_DEGRADE = flags.DEFINE_string('degrade_ckpt', 'checkpoints/degrade_cpu', 'Degrader.')


def _parse(spec: str, nam_cfg):
  name, _, body = spec.partition(':')
  overrides = {}
  for item in filter(None, body.split(',')):
    key, _, value = item.partition('=')
    overrides[key] = (value == 'True' if value in ('True', 'False')
                      else value if key == 'noise' else float(value))
  for key in ('steps', 'unroll'):
    if key in overrides:
      overrides[key] = int(overrides[key])
  return name, nam_main.options(nam_cfg, overrides)


def _load(path: str, header: dict) -> dict:
  """Results already written for the same faces and seeds (a rerun skips those settings)."""
  if not os.path.exists(path):
    return dict(header)
  with open(path) as f:
    old = json.load(f)
  same = all(old.get(k) == v for k, v in header.items() if k != 'bicubic')
  return old if same else dict(header)


def _print_table(out: dict, names) -> None:
  s = out['seeds']
  print(f'{out["num_images"]} test faces x {s} seeds; bicubic: PSNR {out["bicubic"]["psnr"]:.2f}'
        f' dB, SSIM {out["bicubic"]["ssim"]:.3f}')
  print(f'{"setting":<16}{"LR L1 mean":>11}{"best-of-" + str(s):>11}{"PSNR":>7}{"SSIM":>7}'
        f'{"oracle":>8}{"s/img":>7}')
  for name in names:
    r = out[name]
    print(f'{name:<16}{r["lr_l1_mean"]:>11.4f}{r[f"lr_l1_best_of_{s}"]:>11.4f}'
          f'{r["psnr_best_lr"]:>7.2f}{r["ssim_best_lr"]:>7.3f}{r["psnr_oracle"]:>8.2f}'
          f'{r["seconds_per_image"]:>7.1f}')


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)
  config = _CONFIG.value
  model = run_lib.load_model(_PROGAN.value, _DEGRADE.value)
  pairs = datasets.lr_test_pairs(config.data, limit=_IMAGES.value)
  settings = dict(_parse(s, config.nam) for s in _SETTINGS.value)
  header = {'num_images': int(len(pairs['lr'])), 'seeds': _SEEDS.value,
            'test_seeds': [int(x) for x in pairs['seed']],
            'bicubic': evaluate.baseline(pairs['lr'], pairs['hr'])}
  out = _load(_OUT.value, header)
  for name, opts in settings.items():
    if name in out and out[name]['options'] == dataclasses.asdict(opts):
      print(f'{name}: already in {_OUT.value}, skipped')
      continue
    print(f'{name}: {opts}')
    out[name], result = evaluate.evaluate_setting(model, pairs['lr'], pairs['hr'], opts,
                                                  _SEEDS.value, max_batch=config.nam.max_batch)
    report.write_json(_OUT.value, out)  # After every setting, so an interrupted sweep keeps its results.
    if _GRID.value:
      path = f'{os.path.splitext(_OUT.value)[0]}_{name}.png'
      images.save_png(path, evaluate.comparison_grid(pairs['lr'], pairs['hr'], result,
                                                     _GRID.value))
      print(f'wrote {path}: LR | bicubic | best-LR candidate | oracle candidate | true HR')
    _print_table(out, [name])
  _print_table(out, list(settings))


if __name__ == '__main__':
  app.run(main)
