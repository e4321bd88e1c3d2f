"""Scores SR-NAM and the baselines on test sets with HR truth; writes tables, JSON and grids.

  python evaluate.py --sets=real_camera,real_bicubic,synthetic --images=64 --seeds=16
  python evaluate.py --sets=real_camera --best_of_k=64   # + docs/figures/eval_best_of_k_SET.png
  python evaluate.py --sets=synthetic --images=8 --settings=a:steps=50 --settings=b:sphere=False
  python evaluate.py --generators=h2l --ckpts=checkpoints/degrade_cpu,runs/degrade_wide/export
  python evaluate.py --generators=progan_ema --workdir=runs/progan_v2

Test sets: `synthetic` (the first --images faces of the camera-degraded synthetic test split),
`real_bicubic`, `real_camera` and `real_camera_strong` (the real photographed faces of
nam_jax/data/real_faces.py, made LR by plain bicubic downsampling or by the camera pipeline
at two strengths). Methods: bicubic, the trained baselines whose checkpoints exist (l2h,
urdgn) and SR-NAM with the face prior of the inference settings (same defaults and overrides
as infer.py), once per --degradations entry. For each set: the reach of every registered
degradation with the true faces (nam_jax/eval/reach.py), OUT/eval_SET.json, OUT/eval_SET.md
(the tables, with skin tone per band) and OUT/figures/eval_SET_grid.png and eval_SET_tone.png
(skin tone at a glance), and every candidate in OUT/raw/ (for nam_jax/eval/rerank.py). With --generators, trained generators are scored
instead (nam_jax/degrade/scores.py, nam_jax/progan/ema.py) and written to OUT/eval_generators_NAME.json.
"""

from __future__ import annotations

import pathlib

from absl import flags, logging

from nam_jax import cli
from nam_jax.eval import runs

REPO = pathlib.Path(__file__).resolve().parent
_CONFIG = cli.define_config(str(REPO / 'configs' / 'cpu.py'))
_SETS = flags.DEFINE_list('sets', list(runs.SETS), 'Test sets.')
_DEGRADATIONS = flags.DEFINE_list('degradations', None, 'SR-NAM degradations to compare '
                                  '(default: the config\'s); each is one SR-NAM method.')
_REACH = flags.DEFINE_bool('reach', True, 'Measure every registered degradation\'s reach.')
_IMAGES = flags.DEFINE_integer('images', 64, 'Faces of the synthetic test split to use.')
_FACES = flags.DEFINE_list('faces', [], 'Real sets: only these faces (names of '
                           'python -m nam_jax.data.real_faces); default all.')
_RAW = flags.DEFINE_bool('raw', True, 'Also keep every candidate and its LR L1 in '
                         'OUT/raw/eval_SET.npz (for re-ranking studies).')
_SEEDS = flags.DEFINE_integer('seeds', 16, 'SR-NAM candidates per face.')
_LR_SIZE = flags.DEFINE_integer('lr_size', 16, 'Real sets: make the LR faces at this size '
                                '(8-64 px; SR-NAM searches them there; files named '
                                'eval_real_KIND_Spx; Low-to-High and URDGN read 16 px only).')
_METHODS = flags.DEFINE_list('methods', ['bicubic', 'l2h', 'urdgn', 'sr_nam'],
                             'Methods: bicubic, l2h, urdgn, sr_nam.')
_L2H = flags.DEFINE_string('l2h_ckpt', 'checkpoints/l2h_cpu', 'Low-to-High checkpoint.')
_URDGN = flags.DEFINE_string('urdgn_ckpt', 'checkpoints/urdgn_cpu', 'URDGN checkpoint.')
_PRIOR = flags.DEFINE_string('prior', None, 'SR-NAM face prior (default: the config\'s).')
_STEPS = flags.DEFINE_integer('steps', None, 'SR-NAM steps (default: the config\'s).')
_OUT = flags.DEFINE_string('out', 'docs', 'Output folder.')
_BEST_OF_K = flags.DEFINE_integer('best_of_k', 0, 'If > 0: also the best-of-k plot, k = 1..K.')
_GENERATORS = flags.DEFINE_enum(
    'generators', None, ['h2l', 'progan_ema'], 'Score trained generators instead of SR '
    'methods: h2l (each --ckpts H2L checkpoint: noise spread, Frechet VGG16, reach) or '
    'progan_ema (the EMA and raw generators of a ProGAN training --workdir).')
_CKPTS = flags.DEFINE_list('ckpts', [], '--generators=h2l: exported H2L checkpoints.')
_WORKDIR = flags.DEFINE_string('workdir', '', '--generators=progan_ema: its training workdir.')
_SETTINGS = flags.DEFINE_multi_string(
    'settings', [], 'NAME:key=value,... (inference settings): score SR-NAM once per entry, as '
    'method "sr_nam NAME", instead of once with the defaults. For option sweeps.')


def _path(p: str) -> pathlib.Path:
  path = pathlib.Path(p)
  return path if path.is_absolute() or path.exists() else REPO / path


def _networks(job) -> tuple:
  """What a job's loaded model depends on: jobs alike here share one model."""
  return (job.prior, job.prior_ckpt, job.prior_options, job.encoder_ckpt, job.degradation,
          job.degradation_ckpt, job.degradation_options)


def _method_name(job) -> str:
  return f'sr_nam ({job.prior}, {job.degradation})'


def sweep_methods(sweeps: list, base_job, base_model) -> list:
  """One SR-NAM method per (name, job) of --settings (check_flags); models loaded once per
  distinct network."""
  from nam_jax.nam import models
  out, loaded = [], {_networks(base_job): base_model}
  for name, job in sweeps:
    if _networks(job) not in loaded:
      loaded[_networks(job)] = models.load_model(job)
    out.append(runs.sr_nam_method(f'sr_nam {name}', job, loaded[_networks(job)]))
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
      if _LR_SIZE.value != 16:
        print(f'{name}: reads 16 px faces only, skipped at --lr_size={_LR_SIZE.value}')
        continue
      ckpt = _path(_L2H.value if name == 'l2h' else _URDGN.value)
      if not (ckpt / 'model.json').is_file():
        print(f'{name}: no checkpoint at {ckpt}, skipped')
        continue
      ups, variables, _ = upsampler.load(ckpt)
      out.append(suite.Method(name, lambda x, ups=ups, v=variables: upsampler.upsample(
          ups, v, x)[:, None]))
    elif name == 'sr_nam':
      from nam_jax.nam import models
      for j in sr_nam_jobs:
        m = model if j == job else models.load_model(j)
        out.append(runs.sr_nam_method(_method_name(j), j, m))
    else:
      raise ValueError(f'unknown method {name!r}')
  return out


METHODS = ('bicubic', 'l2h', 'urdgn', 'sr_nam')


def check_flags(config, settings) -> dict:
  """Every flag checked before any model loads: {'job': the default job, 'sr_nam_jobs': one
  per --degradations entry, 'sweeps': (name, job) per --settings entry}, or ValueError naming
  the bad flag."""
  for name, values, known in (('--sets', _SETS.value, runs.SETS), ('--methods', _METHODS.value,
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
  sweeps = []
  for spec in _SETTINGS.value:
    name, sep, body = spec.partition(':')
    if not (sep and name and body):
      raise ValueError(f'--settings {spec!r}: expected NAME:key=value,...')
    sweeps.append((name, settings.from_config(
        config.nam, {**common, **settings.parse_overrides(body)}, base_dir=REPO)))
  return {'job': job, 'sr_nam_jobs': sr_nam_jobs or [job], 'sweeps': sweeps}


def score_generators(config) -> None:
  """--generators: scores trained generators, prints and writes OUT/eval_generators_NAME.json."""
  from nam_jax import devices, files
  if _GENERATORS.value == 'h2l' and not _CKPTS.value:
    cli.fail('--generators=h2l needs --ckpts=CKPT,...')
  if _GENERATORS.value == 'progan_ema' and not _WORKDIR.value:
    cli.fail('--generators=progan_ema needs --workdir=DIR')
  devices.configure_host_cpu_or_exit()
  try:
    if _GENERATORS.value == 'h2l':
      from nam_jax.degrade import scores
      result = scores.compare_degradations([str(_path(c)) for c in _CKPTS.value], config.data)
    else:
      from nam_jax.progan import ema
      result = ema.progan_ema_vs_raw(config, _path(_WORKDIR.value))
  except (ValueError, FileNotFoundError) as e:
    cli.fail(str(e))
  print(result)
  out_dir = _path(_OUT.value)
  out_dir.mkdir(parents=True, exist_ok=True)
  files.write_json(out_dir / f'eval_generators_{_GENERATORS.value}.json', result)


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)
  from nam_jax import devices
  from nam_jax.nam import settings
  config = cli.config(_CONFIG)
  if _GENERATORS.value:
    score_generators(config)
    return
  try:
    checked = check_flags(config, settings)
  except ValueError as e:
    cli.fail(str(e))
  job = checked['job']
  # XLA's CPU set-up for this prior (nam_jax.devices), before JAX starts.
  devices.configure_host_cpu_or_exit(ynnpack=job.ynnpack)
  devices.enable_compilation_cache()
  from nam_jax import files, images
  from nam_jax.data import datasets
  from nam_jax.eval import suite
  from nam_jax.nam import models
  out_dir = _path(_OUT.value)
  out_dir.mkdir(parents=True, exist_ok=True)
  model = models.load_model(job)
  reference = (datasets.take(datasets.hr_source(config.data, 'test'), 500)
                if 'synthetic' in _SETS.value and _IMAGES.value >= suite.FRECHET_MIN else None)
  all_methods = methods(job, model, checked['sr_nam_jobs'])
  if _SETTINGS.value:
    all_methods = [m for m in all_methods if not m.name.startswith('sr_nam')]
    all_methods += sweep_methods(checked['sweeps'], job, model)
  for set_name in _SETS.value:
    try:
      test = runs.test_set(set_name, config, _IMAGES.value, tuple(_FACES.value),
                           _LR_SIZE.value)
    except ValueError as e:
      cli.fail(str(e))
    print(f'== {set_name}: {len(test.hr)} faces' +
          (' (held out: never used to choose anything)' if set_name == runs.HELD_OUT else ''))
    reaches = runs.reach_table(test, job, config.nam, REPO) if _REACH.value else {}
    raw = {} if _RAW.value else None
    results, outputs = suite.evaluate(
        all_methods, test, reference, raw=raw,
        on_result=lambda name, r: print(f'{name}: ' + ', '.join(
            f'{k} {v:.4g}' for k, v in r.items() if isinstance(v, (int, float)))))
    if raw:
      runs.save_raw(out_dir, test, raw)
    degradation_of = {_method_name(j): j.degradation for j in checked['sr_nam_jobs']}
    for name, r in results.items():  # Each SR-NAM row: the reach of its degradation.
      if degradation_of.get(name) in reaches:
        r['reach'] = reaches[degradation_of[name]]
    results, outputs = runs.merge_with_earlier(out_dir, test, results, outputs)
    set_name = test.name
    record = {'set': set_name, 'lr_size': int(test.lr_images.shape[1]),
              'faces': list(test.names), 'settings': job.record(),
              'reach': reaches or runs.earlier_reach(out_dir, set_name), 'results': results}
    files.write_json(out_dir / f'eval_{set_name}.json', record)
    table = suite.markdown_table(results) + '\n\n' + suite.band_markdown(results)
    if record['reach']:
      table = runs.reach_markdown(record['reach']) + '\n\n' + table
    (out_dir / f'eval_{set_name}.md').write_text(table + '\n')
    images.save_png(files.figure_path(out_dir, f'eval_{set_name}_grid.png'),
                    suite.comparison_grid(test, outputs))
    from nam_jax.eval import tone_plot
    tone_plot.plot(results, f'skin tone on {set_name} ({len(test.hr)} faces)',
                   files.figure_path(out_dir, f'eval_{set_name}_tone.png'))
    print(table)
    if _BEST_OF_K.value:
      curve = runs.best_of_k_plot(test, job, model, out_dir, _BEST_OF_K.value)
      files.write_json(out_dir / f'eval_best_of_k_{set_name}.json', curve)


if __name__ == '__main__':
  cli.run(main)
