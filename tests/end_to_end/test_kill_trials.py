"""kill -9 at random moments of every stage of a training run, then rerun until it finishes:
the results must equal an uninterrupted run's (parameters, evaluation, figures).

  python -m pytest -m slow tests/end_to_end/test_kill_trials.py -s     # prints the kill points
"""

import json
import os
import pathlib
import random
import signal
import subprocess
import sys
import threading
import time

import chex
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]

# Where a run can be killed: a text its progress output shows when it gets there.
MARKERS = {
    'progan': ['progan 4px', 'progan 8px', 'progan 16px', 'progan 32px', 'progan 64px',
               'Frechet VGG16 distance'],
    'degrade': ['degrade:', 'Frechet VGG16 distances'],
}
KILLS_PER_MARKER = 2


def _command(stage, workdir, extra=()):
  return [sys.executable, 'train.py', f'--stage={stage}', '--config=configs/test.py',
          f'--workdir={workdir}', *extra]


def _run_until(cmd, marker: str, delay: float, env) -> tuple[bool, str]:
  """Runs cmd; `delay` s after `marker` first shows in its output, kill -9. Returns (killed,
  output)."""
  proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT)
  seen = []
  found = threading.Event()

  def read():
    text = ''
    while chunk := proc.stdout.read1(4096):
      seen.append(chunk.decode(errors='replace'))
      text = text[-len(marker):] + seen[-1]
      if marker in text:
        found.set()

  reader = threading.Thread(target=read, daemon=True)
  reader.start()
  while proc.poll() is None and not found.wait(0.05):
    pass
  killed = False
  if proc.poll() is None:
    time.sleep(delay)
    if proc.poll() is None:
      proc.send_signal(signal.SIGKILL)
      killed = True
  proc.wait()
  reader.join(5)
  return killed, ''.join(seen)


def _finish(cmd, env) -> str:
  proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
  assert proc.returncode == 0, proc.stderr[-3000:]
  return proc.stderr + proc.stdout


def _results(workdir: pathlib.Path, stage: str):
  from nam_jax.degradations import h2l
  from nam_jax.progan import prior
  load = prior.load if stage == 'progan' else h2l.load
  return load(workdir / 'export')[1]


@pytest.mark.slow
@pytest.mark.parametrize('stage', ['progan', 'degrade'])
def test_random_kills_then_rerun_equal_the_uninterrupted_run(stage, test_config, tmp_path):
  env = dict(os.environ, JAX_PLATFORMS='cpu')
  extra = ()
  reference = tmp_path / 'reference'
  _finish(_command(stage, reference, extra), env)
  workdir = tmp_path / 'killed'
  cmd = _command(stage, workdir, extra)
  rng = random.Random(20261123)
  trials, killed = [], 0
  for marker in MARKERS[stage]:
    for _ in range(KILLS_PER_MARKER):
      delay = rng.uniform(0.0, 2.0)
      was_killed, _ = _run_until(cmd, marker, delay, env)
      killed += was_killed
      trials.append((marker, round(delay, 2), was_killed))
  _finish(cmd, env)
  print(f'\n{stage}: {killed} kills of {len(trials)} trials: {trials}')
  assert killed >= len(trials) // 2, trials
  chex.assert_trees_all_equal(_results(workdir, stage), _results(reference, stage))
  assert (json.loads((workdir / 'eval.json').read_text())
          == json.loads((reference / 'eval.json').read_text()))
  if stage == 'progan':
    assert (workdir / 'images' / 'stages.png').is_file()
    meta = json.loads((workdir / 'export' / 'model.json').read_text())
    assert sorted(meta['source']['fvd_per_stage']) == ['0', '1', '2', '3', '4']
  assert (workdir / 'config.json').read_text() == (reference / 'config.json').read_text()
