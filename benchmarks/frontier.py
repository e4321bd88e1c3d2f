"""Speed against quality: SR-NAM settings on the real-face sets, seconds per face beside the
evaluation suite's LPIPS, identity kept by some candidate, NME and LR L1.

  python benchmarks/frontier.py --sets=real_bicubic,real_camera --faces=8 \
      --settings=default: --settings=cosine50:steps=50,schedule=cosine

Each setting runs twice on the same faces in this one process: the first run compiles (its
time is reported as `first_s_per_face`, compilation included), the second is timed
(`s_per_face`). Run it on an idle CPU. Writes --out (JSON) and its plot in figures/ beside
it; the first --settings entry is the reference row. With few faces the quality columns
resolve little: compare rows against the spread of the reference row over --repeats rng
seeds.
"""

import dataclasses
import json
import pathlib
import time

from absl import flags, logging

from nam_jax import cli

REPO = pathlib.Path(__file__).resolve().parents[1]

_CONFIG = cli.define_config(str(REPO / 'configs' / 'cpu.py'))
_SETS = flags.DEFINE_list('sets', ['real_bicubic', 'real_camera'], 'Real-face test sets.')
_FACES = flags.DEFINE_integer('faces', 8, 'The first this many faces of each set.')
_SEEDS = flags.DEFINE_integer('seeds', 16, 'Candidates per face.')
_SETTINGS = flags.DEFINE_multi_string('settings', ['default:'], 'NAME:key=value,... (the '
                                      'first is the reference row).')
_REPEATS = flags.DEFINE_integer('repeats', 1, 'rng seeds of the reference row (its spread).')
_WARMUP = flags.DEFINE_bool('warmup', True, 'Run each setting once before the timed run (off: '
                            'one run, its time includes compilation; for many faces).')
_WARMUP_FACES = flags.DEFINE_integer(
    'warmup_faces', 0, 'Faces of the compiling run (0: all). Enough to fill one chunk '
    '(max_batch / seeds: 4 at the defaults) compiles the program the timed run uses.')
_OUT = flags.DEFINE_string('out', 'docs/frontier.json',
                           'JSON output (its plot: figures/NAME.png beside it).')
_MERGE = flags.DEFINE_bool('merge', False, 'Keep the rows of --out (measured on as many faces) '
                           'that this run does not measure again.')
_GRID = flags.DEFINE_integer('grid', 0, 'Also draw, per set, the first this many faces: LR '
                             'input, truth, then each setting\'s top candidate (0: no grid).')
_DEFAULTS = flags.DEFINE_list('defaults', [], 'Rows to mark in the plot: the default, or '
                              'old,new when a run moves it.')

_COLUMNS = ('lpips', 'identity_kept', 'identity_kept_oracle', 'ita_error', 'nme', 'lr_l1')


def _row(job, model, test, tops: dict | None = None) -> dict:
  """Compiles (a first run, with --warmup), then times a run and scores it (its top
  candidates into `tops`, when given)."""
  from nam_jax.eval import runs, suite
  method = runs.sr_nam_method('sr_nam', job, model)
  first = None
  if _WARMUP.value:
    t0 = time.perf_counter()
    warm = test.lr_images[:_WARMUP_FACES.value or None]
    method.run(warm)
    first = (time.perf_counter() - t0) / len(warm)
  results, ranked = suite.evaluate([method], test)
  if tops is not None:
    tops[test.name] = ranked['sr_nam'][:, 0]
  r = results['sr_nam']
  return {'s_per_face': r['seconds'], 'first_s_per_face': first,
          'compilation_included': not _WARMUP.value, **{k: r[k] for k in _COLUMNS}}


def _grids(tests: dict, tops: dict, path: pathlib.Path) -> None:
  """Per set, figures/<out>_<set>_tops.png: rows LR input, truth, then each setting's top
  candidate for the first --grid faces; the first column names the row."""
  from nam_jax import files, images
  n = _GRID.value
  for set_name, t in tests.items():
    rows = [[images.label('input')] + list(t.lr_images[:n]),
            [images.label('truth')] + list(t.hr[:n])]
    rows += [[images.label(name)] + list(tops[name][set_name][:n]) for name in tops]
    grid_path = files.figure_path(path.parent, f'{path.stem}_{set_name}_tops.png')
    images.save_png(grid_path, images.grid(rows))
    print(f'wrote {grid_path}')


def _plot(out: dict, path: pathlib.Path) -> None:
  import matplotlib
  matplotlib.use('Agg')
  import matplotlib.pyplot as plt
  sets = list(next(iter(out['rows'].values())))
  fig, axes = plt.subplots(1, len(sets), figsize=(4.5 * len(sets), 3.6), squeeze=False)
  for ax, set_name in zip(axes[0], sets):
    defaults = out.get('defaults', [])
    marks = dict(zip(defaults, ('old default', 'new default') if len(defaults) > 1
                     else ('default',)))
    for name, row in out['rows'].items():
      r = row.get(set_name)
      if r is None:
        continue
      ax.plot(r['s_per_face'], r['lpips'], 's' if name in marks else 'o',
              color='C3' if name in marks else 'C0')
      label = f'{name} ({marks[name]})' if marks.get(name, name) != name else name
      ax.annotate(label, (r['s_per_face'], r['lpips']), fontsize=7)
      spread = out.get('reference_spread', {}).get(set_name)
      if spread and name == next(iter(out['rows'])):  # The reference row's seed spread.
        ax.errorbar(r['s_per_face'], r['lpips'], yerr=spread['lpips'] / 2, color='C3',
                    capsize=3)
    ax.set(xlabel='seconds per face (16 seeds, after compilation)', ylabel='LPIPS (top)',
           title=f'{set_name}, {out["faces"]} faces')
  fig.tight_layout()
  fig.savefig(path, dpi=100)


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)
  from nam_jax import devices
  devices.configure_host_cpu_or_exit(ynnpack=True)
  from nam_jax.eval import runs, suite
  from nam_jax.nam import models, settings
  config = cli.config(_CONFIG)
  specs = [s.partition(':') for s in _SETTINGS.value]
  jobs = {name: settings.from_config(config.nam, {
      'seeds': _SEEDS.value, 'progress': False, **settings.parse_overrides(body)},
      base_dir=REPO) for name, _, body in specs}
  tests = {}
  for set_name in _SETS.value:
    t = runs.test_set(set_name, config)
    n = min(_FACES.value, len(t.hr))
    tests[set_name] = suite.TestSet(set_name, t.lr_images[:n], t.hr[:n], t.names[:n])
  path = REPO / _OUT.value if not pathlib.Path(_OUT.value).is_absolute() else pathlib.Path(
      _OUT.value)
  out = {'faces': _FACES.value, 'seeds': _SEEDS.value, 'settings': {}, 'rows': {},
         'reference_spread': {}}
  if _MERGE.value and path.is_file():
    earlier = json.loads(path.read_text())
    if earlier['faces'] != _FACES.value or earlier['seeds'] != _SEEDS.value:
      cli.fail(f'{path}: measured on {earlier["faces"]} faces x {earlier["seeds"]} seeds; '
               f'this run: {_FACES.value} x {_SEEDS.value}')
    out = earlier
  out['settings'].update((name, body) for name, _, body in specs)
  if _DEFAULTS.value:
    out['defaults'] = _DEFAULTS.value
  tops = {}
  for name, job in jobs.items():
    model = models.load_model(job)
    tops[name] = {}
    out['rows'][name] = {s: _row(job, model, t, tops[name]) for s, t in tests.items()}
    print(name, json.dumps(out['rows'][name]), flush=True)
    if name == specs[0][0] and _REPEATS.value > 1:
      for s, t in tests.items():
        rows = [_row(dataclasses.replace(job, rng_seed=job.rng_seed + k + 1), model, t)
                for k in range(_REPEATS.value - 1)] + [out['rows'][name][s]]
        out['reference_spread'][s] = {
            k: max(r[k] for r in rows) - min(r[k] for r in rows) for k in _COLUMNS}
  from nam_jax import files
  files.write_json(path, out)
  _plot(out, files.figure_path(path.parent, path.with_suffix('.png').name))
  if _GRID.value:
    _grids(tests, tops, path)
  print('| setting | set | s / face | first run s / face | LPIPS | kept, top / any | ITA error | '
        'NME | LR L1 |')
  print('| --- | --- | --- | --- | --- | --- | --- | --- | --- |')
  for name, row in out['rows'].items():
    for s, r in row.items():
      first = '-' if r['first_s_per_face'] is None else f'{r["first_s_per_face"]:.1f}'
      print(f'| {name} | {s} | {r["s_per_face"]:.1f} | {first} | '
            f'{r["lpips"]:.3f} | {r.get("identity_kept", float("nan")):.0%} / '
            f'{r["identity_kept_oracle"]:.0%} | {r.get("ita_error", float("nan")):.1f} | '
            f'{r["nme"]:.3f} | {r["lr_l1"]:.4f} |')
  print(f'wrote {path} and {path.with_suffix(".png")}')


if __name__ == '__main__':
  cli.run(main)
