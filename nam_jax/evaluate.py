"""Scores SR-NAM and the baselines on test sets with HR truth; writes tables, JSON and grids.

  python -m nam_jax.evaluate --sets=real_camera,real_bicubic,synthetic --images=64 --seeds=16
  python -m nam_jax.evaluate --sets=real_camera --best_of_k=64   # + docs/eval_best_of_k.png

Test sets: `synthetic` (the first --images faces of the camera-degraded synthetic test split),
`real_bicubic`, `real_camera` and `real_camera_strong` (the real photographed faces of
nam_jax/data/real_faces.py, made LR by plain bicubic downsampling or by the camera pipeline
at two strengths). Methods: bicubic, the trained baselines whose checkpoints exist (l2h,
urdgn) and SR-NAM with the face prior of the inference settings (same defaults and overrides
as infer.py), once per --degradations entry. For each set: the reach of every registered
degradation with the true faces (nam_jax/eval/reach.py), OUT/eval_SET.json, OUT/eval_SET.md
(the tables) and OUT/eval_SET_grid.png.
"""

from __future__ import annotations

import pathlib

import numpy as np
from absl import flags, logging

from nam_jax import cli

REPO = pathlib.Path(__file__).resolve().parents[1]
_CONFIG = cli.define_config(str(REPO / 'configs' / 'cpu.py'))
SETS = ('real_bicubic', 'real_camera', 'real_camera_strong', 'synthetic')
_SETS = flags.DEFINE_list('sets', list(SETS), 'Test sets.')
_DEGRADATIONS = flags.DEFINE_list('degradations', None, 'SR-NAM degradations to compare '
                                  '(default: the config\'s); each is one SR-NAM method.')
_REACH = flags.DEFINE_bool('reach', True, 'Measure every registered degradation\'s reach.')
_IMAGES = flags.DEFINE_integer('images', 64, 'Faces of the synthetic test split to use.')
_SEEDS = flags.DEFINE_integer('seeds', 16, 'SR-NAM candidates per face.')
_METHODS = flags.DEFINE_list('methods', ['bicubic', 'l2h', 'urdgn', 'sr_nam'],
                             'Methods: bicubic, l2h, urdgn, sr_nam.')
_L2H = flags.DEFINE_string('l2h_ckpt', 'checkpoints/l2h_cpu', 'Low-to-High checkpoint.')
_URDGN = flags.DEFINE_string('urdgn_ckpt', 'checkpoints/urdgn_cpu', 'URDGN checkpoint.')
_PRIOR = flags.DEFINE_string('prior', None, 'SR-NAM face prior (default: the config\'s).')
_STEPS = flags.DEFINE_integer('steps', None, 'SR-NAM steps (default: the config\'s).')
_OUT = flags.DEFINE_string('out', 'docs', 'Output folder.')
_BEST_OF_K = flags.DEFINE_integer('best_of_k', 0, 'If > 0: also the best-of-k plot, k = 1..K.')
_SETTINGS = flags.DEFINE_multi_string(
    'settings', [], 'NAME:key=value,... (inference settings): score SR-NAM once per entry, as '
    'method "sr_nam NAME", instead of once with the defaults. For option sweeps.')


def _path(p: str) -> pathlib.Path:
  path = pathlib.Path(p)
  return path if path.is_absolute() or path.exists() else REPO / path


def test_set(name: str, config):
  from nam_jax.data import datasets, real_faces
  from nam_jax.eval import suite
  if name == 'synthetic':
    pairs = datasets.lr_test_pairs(config.data, limit=_IMAGES.value)
    return suite.TestSet(name, pairs['lr'], pairs['hr'],
                         tuple(f'seed{int(s)}' for s in pairs['seed']))
  if name.startswith('real_') and name.removeprefix('real_') in real_faces.LR_KINDS:
    rf = real_faces.load()
    return suite.TestSet(name, rf.lr[name.removeprefix('real_')], rf.hr, tuple(rf.names))
  raise ValueError(f'unknown test set {name!r}')


def sr_nam_method(name: str, job, model):
  from nam_jax.eval import suite
  from nam_jax.nam import chunks

  def run(x):
    from nam_jax.nam import groups, rank
    r = chunks.super_resolve(model, x, job)
    desc = groups.descriptors(r['hr']) if job.rank != 'fit' else None
    order = rank.order(r['loss'], desc, job.rank)
    fit = {'lr_l1': np.take_along_axis(r['loss'], order, axis=1)[:, 0]}
    if 'degradation' in r:  # auto: the share of inputs it gave the camera model.
      fit['auto_camera'] = (np.asarray(r['degradation']) == 'camera').astype(np.float32)
    return np.take_along_axis(r['hr'], order[:, :, None, None, None], axis=1), fit
  return suite.Method(name, run)


def reach_table(test, job) -> dict:
  """{degradation: mean reach} of every registered degradation (and the area + colour
  affine reference) with the set's true faces."""
  from nam_jax import priors
  from nam_jax.eval import reach
  out = {}
  for name in priors.DEGRADATIONS:
    d = priors.load_degradation(name, job.degradation_ckpt if name == 'h2l' else None)
    out[name] = float(np.mean(reach.reach(d.model, d.weights, test.hr, test.lr_images)))
    print(f'reach {name}: {out[name]:.4f}')
  out['area + colour affine'] = float(np.mean(reach.area_affine_reach(test.hr,
                                                                      test.lr_images)))
  return out


def _networks(job) -> tuple:
  return job.prior, job.prior_ckpt, job.w_plus, job.degradation, job.degradation_ckpt


def _method_name(job) -> str:
  return f'sr_nam ({job.prior}, {job.degradation})'


def sweep_methods(config, common: dict, base_job, base_model) -> list:
  """One SR-NAM method per --settings entry (models loaded once per distinct network)."""
  from nam_jax.nam import chunks, settings
  out, models = [], {_networks(base_job): base_model}
  for spec in _SETTINGS.value:
    name, _, body = spec.partition(':')
    job = settings.from_config(config.nam, {**common, **settings.parse_overrides(body)},
                               base_dir=REPO)
    if _networks(job) not in models:
      models[_networks(job)] = chunks.load_model(job)
    out.append(sr_nam_method(f'sr_nam {name}', job, models[_networks(job)]))
  return out


def methods(job, model, sr_nam_jobs) -> list:
  """The methods of --methods; `model` is the job's loaded prior and degradation;
  `sr_nam_jobs`: one SR-NAM job per compared degradation (check_flags)."""
  from nam_jax import images
  from nam_jax.baselines import upsampler
  from nam_jax.eval import metrics, suite
  out = []
  for name in _METHODS.value:
    if name == 'bicubic':
      out.append(suite.Method('bicubic', lambda x: images.as_float(
          metrics.bicubic_upsample(x))[:, None]))
    elif name in ('l2h', 'urdgn'):
      ckpt = _path(_L2H.value if name == 'l2h' else _URDGN.value)
      if not (ckpt / 'model.json').is_file():
        print(f'{name}: no checkpoint at {ckpt}, skipped')
        continue
      ups, variables, _ = upsampler.load(ckpt)
      out.append(suite.Method(name, lambda x, ups=ups, v=variables: upsampler.upsample(
          ups, v, x)[:, None]))
    elif name == 'sr_nam':
      from nam_jax.nam import chunks
      for j in sr_nam_jobs:
        m = model if j == job else chunks.load_model(j)
        out.append(sr_nam_method(_method_name(j), j, m))
    else:
      raise ValueError(f'unknown method {name!r}')
  return out


def best_of_k_plot(test, job, model, out_dir: pathlib.Path, k_max: int) -> dict:
  """Oracle best-of-k LPIPS and identity share (k = 1..k_max) of SR-NAM candidates."""
  import dataclasses

  import matplotlib
  matplotlib.use('Agg')
  import matplotlib.pyplot as plt

  from nam_jax import images
  from nam_jax.eval import faces, lpips
  from nam_jax.nam import chunks
  job = dataclasses.replace(job, seeds=k_max)
  r = chunks.super_resolve(model, test.lr_images, job)
  n = len(test.hr)
  lp = lpips.lpips(r['hr'].reshape((n * k_max, 64, 64, 3)),
                   np.repeat(test.hr, k_max, axis=0)).reshape(n, k_max)
  truths = [faces.truth(h) for h in test.hr]
  ident = np.array([[faces.compare(images.as_uint8(c), t)['identity'] for c in cs]
                    for cs, t in zip(r['hr'], truths)])
  ks = [k for k in (1, 2, 4, 8, 16, 32, 64, 128, 256) if k <= k_max]
  curve = {'k': ks,
           'lpips_oracle': [float(lp[:, :k].min(1).mean()) for k in ks],
           'identity_kept_oracle': [float((ident[:, :k].min(1) < faces.SAME_PERSON).mean())
                                    for k in ks],
           # What a user gets without the truth: the lowest LR L1 among the first k seeds.
           'lpips_top_by_lr_l1': [float(np.mean([lp[i, np.argmin(r['loss'][i, :k])]
                                                 for i in range(n)])) for k in ks]}
  fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
  axes[0].plot(ks, curve['lpips_oracle'], 'o-', label='best of k (oracle)')
  axes[0].plot(ks, curve['lpips_top_by_lr_l1'], 's--', label='lowest LR L1 of k')
  axes[0].set(xscale='log', xlabel='seeds k', ylabel='LPIPS to true face (lower is better)')
  axes[0].legend()
  axes[1].plot(ks, curve['identity_kept_oracle'], 'o-')
  axes[1].set(xscale='log', xlabel='seeds k', ylabel='share with a candidate < 0.6',
              ylim=(0, 1))
  fig.suptitle(f'SR-NAM ({job.prior}) on {test.name}: {n} faces, {k_max} seeds')
  fig.tight_layout()
  path = out_dir / f'eval_best_of_k_{test.name}.png'
  fig.savefig(path, dpi=100)
  print(f'wrote {path}')
  return curve


def _merge_with_earlier(out_dir: pathlib.Path, test, results: dict, outputs: dict):
  """Adds the methods of an earlier run on the same faces that this run did not redo, so
  methods can be scored one at a time (e.g. a baseline trained later). The top 4 candidates
  of every method are kept in OUT/eval_SET_outputs.npz for the grid."""
  import json
  from nam_jax import images
  json_path = out_dir / f'eval_{test.name}.json'
  npz_path = out_dir / f'eval_{test.name}_outputs.npz'
  merged_results, merged_outputs = {}, {}
  if json_path.is_file() and npz_path.is_file():
    old = json.loads(json_path.read_text())
    saved = np.load(npz_path)
    if old.get('faces') == list(test.names):
      for name, r in old['results'].items():
        key = f'm{list(old["results"]).index(name)}'
        if name not in results and key in saved:
          merged_results[name] = r
          merged_outputs[name] = images.as_float(saved[key])
  merged_results.update(results)
  merged_outputs.update({k: v[:, :4] for k, v in outputs.items()})
  tmp = npz_path.with_name(npz_path.stem + '.tmp.npz')
  np.savez_compressed(tmp, **{f'm{i}': images.as_uint8(merged_outputs[name])
                   for i, name in enumerate(merged_results)})
  tmp.replace(npz_path)
  return merged_results, merged_outputs


def _earlier_reach(out_dir: pathlib.Path, set_name: str) -> dict:
  import json
  path = out_dir / f'eval_{set_name}.json'
  return json.loads(path.read_text()).get('reach', {}) if path.is_file() else {}


def reach_markdown(reaches: dict) -> str:
  """One-row table: the reach of each degradation with the true faces."""
  return ('| reach of the true face (LR L1) | ' + ' | '.join(reaches) + ' |\n| --- |' +
          ' --- |' * len(reaches) + '\n| mean over faces | ' +
          ' | '.join(f'{v:.4f}' for v in reaches.values()) + ' |')


METHODS = ('bicubic', 'l2h', 'urdgn', 'sr_nam')


def check_flags(config, settings) -> dict:
  """Every flag checked before any model loads: {'job': settings, 'sweeps': [...]}, or
  ValueError naming the bad flag."""
  for name, values, known in (('--sets', _SETS.value, SETS), ('--methods', _METHODS.value,
                                                               METHODS)):
    unknown = [v for v in values if v not in known]
    if unknown or not values:
      raise ValueError(f'{name}: unknown {unknown or "(empty)"}; known: {", ".join(known)}')
  for name, flag in (('--images', _IMAGES), ('--seeds', _SEEDS)):
    if flag.value < 1:
      raise ValueError(f'{name} must be at least 1, got {flag.value}')
  if _STEPS.value is not None and _STEPS.value < 1:
    raise ValueError(f'--steps must be at least 1, got {_STEPS.value}')
  if _BEST_OF_K.value < 0:
    raise ValueError(f'--best_of_k must be >= 0, got {_BEST_OF_K.value}')
  common = {'seeds': _SEEDS.value, 'prior': _PRIOR.value, 'steps': _STEPS.value}
  job = settings.from_config(config.nam, common, base_dir=REPO)
  # Each compared degradation's job from the config: its own options apply (by_degradation).
  sr_nam_jobs = [settings.from_config(config.nam, {**common, 'degradation': deg},
                                      base_dir=REPO) for deg in _DEGRADATIONS.value or []]
  for spec in _SETTINGS.value:
    name, sep, body = spec.partition(':')
    if not (sep and name and body):
      raise ValueError(f'--settings {spec!r}: expected NAME:key=value,...')
    settings.from_config(config.nam, {**common, **settings.parse_overrides(body)},
                         base_dir=REPO)
  return {'job': job, 'common': common, 'sr_nam_jobs': sr_nam_jobs or [job]}


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)
  from nam_jax import devices, priors
  from nam_jax.nam import settings
  config = cli.config(_CONFIG)
  try:
    checked = check_flags(config, settings)
  except ValueError as e:
    cli.fail(str(e))
  job, common = checked['job'], checked['common']
  # XLA's CPU set-up for this prior (nam_jax.devices), before JAX starts.
  devices.configure_host_cpu_or_exit(ynnpack=job.prior in priors.YNNPACK_PRIORS)
  from nam_jax import files, images
  from nam_jax.data import datasets
  from nam_jax.eval import suite
  from nam_jax.nam import chunks
  out_dir = _path(_OUT.value)
  out_dir.mkdir(parents=True, exist_ok=True)
  model = chunks.load_model(job)
  reference = (datasets.take(datasets.hr_source(config.data, 'test'), 500)
                if 'synthetic' in _SETS.value and _IMAGES.value >= suite.FRECHET_MIN else None)
  all_methods = methods(job, model, checked['sr_nam_jobs'])
  if _SETTINGS.value:
    all_methods = [m for m in all_methods if not m.name.startswith('sr_nam')]
    all_methods += sweep_methods(config, common, job, model)
  for set_name in _SETS.value:
    test = test_set(set_name, config)
    print(f'== {set_name}: {len(test.hr)} faces')
    reaches = reach_table(test, job) if _REACH.value else {}
    results, outputs = suite.evaluate(
        all_methods, test, reference,
        on_result=lambda name, r: print(f'{name}: ' + ', '.join(
            f'{k} {v:.4g}' for k, v in r.items())))
    for name, r in results.items():  # Each SR-NAM row: the reach of its degradation.
      deg = name.rsplit(', ', 1)[-1].rstrip(')') if name.startswith('sr_nam (') else None
      if deg in reaches:
        r['reach'] = reaches[deg]
    results, outputs = _merge_with_earlier(out_dir, test, results, outputs)
    record = {'set': set_name, 'faces': list(test.names), 'settings': job.record(),
              'reach': reaches or _earlier_reach(out_dir, set_name), 'results': results}
    files.write_json(out_dir / f'eval_{set_name}.json', record)
    table = suite.markdown_table(results)
    if record['reach']:
      table = reach_markdown(record['reach']) + '\n\n' + table
    (out_dir / f'eval_{set_name}.md').write_text(table + '\n')
    images.save_png(out_dir / f'eval_{set_name}_grid.png',
                    suite.comparison_grid(test, outputs))
    print(table)
    if _BEST_OF_K.value:
      curve = best_of_k_plot(test, job, model, out_dir, _BEST_OF_K.value)
      files.write_json(out_dir / f'eval_best_of_k_{set_name}.json', curve)


if __name__ == '__main__':
  cli.run(main)
