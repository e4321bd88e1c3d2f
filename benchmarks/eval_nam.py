"""Scores SR-NAM settings on the real-world LR test split (with HR ground truth).

  python benchmarks/eval_nam.py --images=8 --seeds=16 \
      --settings='default:' --settings='sphere:sphere=True' \
      --settings='lr1e-2:learning_rate=0.01'
Each --settings is NAME:key=value,... over the inference settings (steps, learning_rate,
noise, sphere, mean_pull, unroll, ...; nam_jax/nam/settings.py); unspecified keys come from
config.nam, as they do for infer.py. Each setting's scores are
written to --out (JSON) as soon as it finishes; rerunning with the same faces and seeds skips
settings already there with the same options. Prints a table.
"""

import dataclasses
import json
import os
import pathlib

from absl import app, flags, logging
from ml_collections import config_flags

from nam_jax import files, images
from nam_jax.data import datasets
from nam_jax.nam import chunks, evaluate, settings

REPO = pathlib.Path(__file__).resolve().parents[1]
_CONFIG = config_flags.DEFINE_config_file('config', str(REPO / 'configs' / 'cpu.py'),
                                          'Config file.')
_IMAGES = flags.DEFINE_integer('images', 8, 'Test faces to use.')
_SEEDS = flags.DEFINE_integer('seeds', 16, 'Candidates per face.')
_SETTINGS = flags.DEFINE_multi_string('settings', ['default:'], 'NAME:key=value,...')
_OUT = flags.DEFINE_string('out', 'docs/nam_eval.json', 'Where to write the figures.')
_GRID = flags.DEFINE_integer('grid_faces', 8, 'Faces in the comparison grid written next to '
                             '--out for each setting (0 = none).')
_PRIOR = flags.DEFINE_string('prior', None, 'Face prior (default: the config\'s).')
_PRIOR_CKPT = flags.DEFINE_string('prior_ckpt', None, 'Its checkpoint (default: the config\'s).')
_DEGRADE = flags.DEFINE_string('degradation_ckpt', None, 'Degradation model checkpoint.')

def _parse(spec: str, nam_cfg, common: dict) -> tuple[str, settings.Settings]:
  name, _, body = spec.partition(':')
  overrides = {**common, **settings.parse_overrides(body)}
  return name, settings.from_config(nam_cfg, overrides, base_dir=REPO)


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
  common = {'seeds': _SEEDS.value, 'prior': _PRIOR.value, 'prior_ckpt': _PRIOR_CKPT.value,
            'degradation_ckpt': _DEGRADE.value}
  jobs = dict(_parse(s, config.nam, common) for s in _SETTINGS.value)
  models = {}
  pairs = datasets.lr_test_pairs(config.data, limit=_IMAGES.value)
  header = {'num_images': int(len(pairs['lr'])), 'seeds': _SEEDS.value,
            'test_seeds': [int(x) for x in pairs['seed']],
            'bicubic': evaluate.baseline(pairs['lr'], pairs['hr'])}
  out = _load(_OUT.value, header)
  for name, job in jobs.items():
    if name in out and out[name]['options'] == dataclasses.asdict(job.options):
      print(f'{name}: already in {_OUT.value}, skipped')
      continue
    print(f'{name}: {job.options}')
    key = (job.prior, job.prior_ckpt, job.degradation, job.degradation_ckpt)
    if key not in models:
      models[key] = chunks.load_model(job)
    out[name], result = evaluate.evaluate_setting(models[key], pairs['lr'], pairs['hr'], job)
    files.write_json(_OUT.value, out)  # After every setting, so an interrupted sweep keeps its results.
    if _GRID.value:
      path = f'{os.path.splitext(_OUT.value)[0]}_{name}.png'
      images.save_png(path, evaluate.comparison_grid(pairs['lr'], pairs['hr'], result,
                                                     _GRID.value))
      print(f'wrote {path}: LR | bicubic | best-LR candidate | oracle candidate | true HR')
    _print_table(out, [name])
  _print_table(out, list(jobs))


if __name__ == '__main__':
  app.run(main)
