"""Throughput of one process against N processes of one job on this machine, side by side.

Each row runs the real command (train.py or infer.py), once as one process on all the cores
and once through `python -m nam_jax.launch --processes=N`, each process on its share of the
cores (nam_jax/launch.py). On one host the processes share the same cores, so this measures
the cost of the multi-process machinery (collectives over gloo, a barrier per part, the
merge), not a speed-up: the speed-up of several processes comes from several hosts.

  train    train.py --stage=degrade, the config's widths and batch: steps per second between
           the first and the last log line (compilation excluded), and the command's wall time
  infer    infer.py over the first --inputs faces of the config's paired LR test split:
           inputs per minute of wall time (loading and compiling included)

  python benchmarks/bench_processes.py --out=docs/bench_processes.json
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

from absl import app, flags

REPO = pathlib.Path(__file__).resolve().parents[1]
_CONFIG = flags.DEFINE_string('config', 'configs/cpu.py', 'Config of both rows.')
_PROCESSES = flags.DEFINE_integer('processes', 2, 'Processes of the multi-process row.')
_ROWS = flags.DEFINE_list('rows', ['train', 'infer'], 'train and/or infer.')
_STEPS = flags.DEFINE_integer('steps', 30, 'Degradation GAN steps per training row.')
_INPUTS = flags.DEFINE_integer('inputs', 6, 'Faces per inference row.')
_INFER_STEPS = flags.DEFINE_integer('infer_steps', 30, 'SR-NAM steps per candidate.')
_SEEDS = flags.DEFINE_integer('seeds', 16, 'Candidates per face.')
_OUT = flags.DEFINE_string('out', '', 'Also write the rows here (JSON).')


def _run(args: list[str], processes: int) -> tuple[float, subprocess.CompletedProcess]:
  cmd = ([sys.executable, *args] if processes == 1 else
         [sys.executable, '-m', 'nam_jax.launch', f'--processes={processes}', '--', *args])
  t0 = time.perf_counter()
  proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
  seconds = time.perf_counter() - t0
  if proc.returncode:
    raise SystemExit(f'error: {" ".join(args[:2])} on {processes} process(es) failed:\n'
                     f'{proc.stderr[-3000:]}')
  return seconds, proc


def _steps_per_second(workdir: pathlib.Path) -> float:
  """Steps per second between the first and the last logged step (the loop's own rate is
  measured from its start, so t(k) = k / rate(k))."""
  rows = [json.loads(l) for l in (workdir / 'metrics.jsonl').open() if 'steps_per_sec' in l]
  (k0, r0), (k1, r1) = [(r['step'], r['steps_per_sec']) for r in (rows[0], rows[-1])]
  return (k1 - k0) / (k1 / r1 - k0 / r0)


def train_row(processes: int, tmp: pathlib.Path) -> dict:
  workdir = tmp / f'train{processes}'
  log = max(1, _STEPS.value // 3)
  seconds, _ = _run(['train.py', '--stage=degrade', f'--config={_CONFIG.value}',
                     f'--workdir={workdir}', f'--config.degrade.steps={_STEPS.value}',
                     f'--config.degrade.log_every={log}', '--config.degrade.image_every=0',
                     f'--config.degrade.ckpt_every={_STEPS.value}',
                     '--config.degrade.eval_samples=0'], processes)
  return {'row': 'train degrade', 'processes': processes, 'wall_s': round(seconds, 1),
          'steps_per_s': round(_steps_per_second(workdir), 3)}


def infer_row(processes: int, tmp: pathlib.Path) -> dict:
  out = tmp / f'infer{processes}'
  seconds, _ = _run(['infer.py', f'--config={_CONFIG.value}', '--input=synthetic:test',
                     f'--limit={_INPUTS.value}', f'--seeds={_SEEDS.value}',
                     f'--steps={_INFER_STEPS.value}', f'--out={out}'], processes)
  return {'row': 'infer', 'processes': processes, 'wall_s': round(seconds, 1),
          'inputs_per_min': round(60 * _INPUTS.value / seconds, 2)}


def main(argv):
  del argv
  rows = []
  makers = {'train': train_row, 'infer': infer_row}
  with tempfile.TemporaryDirectory() as tmp:
    for name in _ROWS.value:
      for n in (1, _PROCESSES.value):
        rows.append(makers[name](n, pathlib.Path(tmp)))
        print(json.dumps(rows[-1]), flush=True)
  cores = len(os.sched_getaffinity(0))
  print(f'\n{cores} cores; one process uses all, each of {_PROCESSES.value} processes its '
        'share')
  for row in rows:
    rate = row.get('steps_per_s', row.get('inputs_per_min'))
    unit = 'steps/s' if 'steps_per_s' in row else 'inputs/min'
    print(f'{row["row"]:15s} {row["processes"]} process(es): {rate:8.3f} {unit}, '
          f'wall {row["wall_s"]:.1f} s')
  if _OUT.value:
    pathlib.Path(_OUT.value).write_text(json.dumps({'cores': cores, 'rows': rows}, indent=2))


if __name__ == '__main__':
  app.run(main)
