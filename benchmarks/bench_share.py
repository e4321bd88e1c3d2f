"""The default SR-NAM programs against the hardware: compile cost, cost per iteration, and the
share of this CPU's matmul rate they reach; and what the persistent compilation cache saves.

For each search the default job runs (with --degradation=auto: W+ where auto chooses bicubic,
W where it chooses the camera), at --candidates (16 = one face) and in the programs infer.py
runs (nam_jax.nam.search.run: start, a segment of steps, the final render):
  compile s        lowering + compiling the three programs (from the cache when it has them)
  ms / iteration   one Adam step of all candidates (a segment of --steps, timed after a
                   warm-up call, best of --repeats)
  GFLOP / iter     XLA's cost analysis of a one-step segment
  % of matmul      (GFLOP / s) / the GFLOP/s of a 4096 x 4096 f32 matmul timed in the same
                   process (best of 5)
Each row runs twice, each time in a new process sharing one new cache folder: the first
compiles and writes the cache, the second loads from it.

  python benchmarks/bench_share.py --candidates=16,64 --out=docs/bench_share.json
"""

import json
import pathlib
import sys
import tempfile
import time

from absl import app, flags

from benchmarks import isolated

REPO = pathlib.Path(__file__).resolve().parents[1]

_CANDIDATES = flags.DEFINE_list('candidates', ['16', '64'], 'Candidates per program.')
_STEPS = flags.DEFINE_integer('steps', 10, 'Steps per timed segment.')
_REPEATS = flags.DEFINE_integer('repeats', 3, 'Timed segments (best is reported).')
_SETTINGS = flags.DEFINE_string('settings', '', 'Overrides of the default job (k=v,...).')
_OUT = flags.DEFINE_string('out', '', 'Write the rows to this JSON file.')
_ONE = flags.DEFINE_string('one', '', 'Internal: run one DEGRADATION:CANDIDATES:CACHE row.')


def _one_row(degradation: str, candidates: int, cache: str) -> dict:
  from nam_jax import devices
  devices.configure_host_cpu_or_exit(ynnpack=True)
  devices.enable_compilation_cache(cache)
  import dataclasses
  import jax
  import jax.numpy as jnp
  from configs import cpu
  from nam_jax.nam import invert, models, search, settings
  job = settings.from_config(cpu.get_config().nam, {
      'progress': False, **settings.parse_overrides(_SETTINGS.value)}, base_dir=REPO)
  sub = job.for_degradation(degradation)
  model = models.load_model(sub)
  opts = dataclasses.replace(sub.options, steps=_STEPS.value, unroll=1)
  mesh = devices.batch_mesh(candidates)
  shard = devices.sharded(mesh)
  keys = jax.device_put(jax.vmap(lambda s: invert.candidate_key(0, s))(
      jnp.arange(candidates)), shard)
  targets = jax.device_put(jax.random.uniform(jax.random.key(1), (candidates, 16, 16, 3),
                                              minval=-1, maxval=1), shard)
  params = jax.device_put(model.prior_params, devices.replicated(mesh))
  dvars = jax.device_put(model.degradation_vars, devices.replicated(mesh))
  kw = dict(nets=model.nets, opts=opts)
  t0 = time.perf_counter()
  start = search._start_program.lower(keys, targets, params, dvars, **kw).compile()
  state = start(keys, targets, params, dvars)
  steps = search._steps_program.lower(state, targets, params, dvars, count=opts.steps,
                                      **kw).compile()
  search._finish_program.lower(state, targets, params, dvars, **kw).compile()
  compile_s = time.perf_counter() - t0
  # FLOPs of the whole step, from the unsharded program (a sharded one reports one device's).
  host = jax.device_get((state, targets, model.prior_params, model.degradation_vars))
  one = search._steps_program.lower(*host, count=1, **kw).compile()
  cost = one.cost_analysis()
  cost = cost[0] if isinstance(cost, list) else cost
  gflop = float(cost.get('flops', 0.0)) / 1e9
  jax.block_until_ready(steps(state, targets, params, dvars))
  best = float('inf')
  for _ in range(_REPEATS.value):
    t0 = time.perf_counter()
    jax.block_until_ready(steps(state, targets, params, dvars))
    best = min(best, time.perf_counter() - t0)
  per_iter = best / opts.steps
  matmul = isolated.matmul_gflops(repeats=5)
  return {'degradation': degradation, 'w_plus': dict(sub.prior_options).get('w_plus', False),
          'candidates': candidates,
          'compile_s': compile_s, 'ms_per_iteration': 1e3 * per_iter,
          'ms_per_candidate_iteration': 1e3 * per_iter / candidates,
          'gflop_per_iteration': gflop, 'gflops': gflop / per_iter,
          'matmul_gflops': matmul, 'share_of_matmul': gflop / per_iter / matmul}


def main(argv):
  del argv
  if _ONE.value:
    degradation, candidates, cache = _ONE.value.split(':', 2)
    isolated.emit(_one_row(degradation, int(candidates), cache))
    return
  rows = []
  for candidates in _CANDIDATES.value:
    for degradation in ('bicubic', 'camera'):
      cache = tempfile.mkdtemp(prefix='nam_jax_bench_cache_')
      for process in ('first', 'second'):
        cmd = [sys.executable, __file__, f'--one={degradation}:{candidates}:{cache}',
               f'--steps={_STEPS.value}', f'--repeats={_REPEATS.value}',
               f'--settings={_SETTINGS.value}']
        row = isolated.spawn(cmd, f'{degradation} at {candidates} candidates', cwd=REPO,
                             ynnpack=True)
        row['process'] = process
        rows.append(row)
        print(json.dumps(row), flush=True)
  print('| search | candidates | process | compile s | ms / iteration | ms / candidate-iteration'
        ' | GFLOP / iteration | GFLOP/s | matmul GFLOP/s | % of matmul |')
  print('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |')
  for r in rows:
    space = 'W+' if r['w_plus'] else 'W'
    print(f'| {r["degradation"]} ({space}) | {r["candidates"]} | {r["process"]} | '
          f'{r["compile_s"]:.1f} | {r["ms_per_iteration"]:.0f} | '
          f'{r["ms_per_candidate_iteration"]:.1f} | {r["gflop_per_iteration"]:.1f} | '
          f'{r["gflops"]:.0f} | {r["matmul_gflops"]:.0f} | {r["share_of_matmul"]:.0%} |')
  if _OUT.value:
    path = pathlib.Path(_OUT.value)
    path = path if path.is_absolute() else REPO / path
    path.write_text(json.dumps({'settings': _SETTINGS.value, 'rows': rows}, indent=1) + '\n')
    print(f'wrote {path}')


if __name__ == '__main__':
  app.run(main)
