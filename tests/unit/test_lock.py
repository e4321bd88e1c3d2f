"""The workdir lock (nam_jax/training/lock.py): one run per workdir, a killed holder freed."""

import os
import pathlib
import subprocess
import sys

import pytest

from nam_jax.training import lock


ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_second_run_on_a_busy_workdir_stops_and_a_killed_run_frees_it(tmp_path):
  with lock.workdir_lock(tmp_path, lambda s: None):
    with pytest.raises(lock.WorkdirBusy, match=f'pid {os.getpid()}'):
      with lock.workdir_lock(tmp_path):
        pass
  # Clean exit: the lock file is empty, the next run says nothing.
  said = []
  with lock.workdir_lock(tmp_path, said.append):
    pass
  assert said == []
  # A killed holder: the kernel released the flock, the file still names it.
  (tmp_path / '.lock').write_text('pid 999999 on host, started 2026-01-01 00:00:00')
  with lock.workdir_lock(tmp_path, said.append):
    pass
  assert len(said) == 1 and 'killed?' in said[0]


def test_train_cli_on_a_busy_workdir_is_one_line_and_writes_nothing(tmp_path, test_config):
  workdir = tmp_path / 'w'
  env = dict(os.environ, JAX_PLATFORMS='cpu')
  with lock.workdir_lock(workdir, lambda s: None):
    proc = subprocess.run([sys.executable, 'train.py', '--stage=progan',
                           '--config=configs/test.py', f'--workdir={workdir}'],
                          cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
  assert proc.returncode == 2
  lines = [l for l in proc.stderr.splitlines() if l.startswith('error:')]
  assert len(lines) == 1 and 'in use by a running job' in lines[0], proc.stderr[-2000:]
  assert sorted(p.name for p in workdir.iterdir()) == ['.lock']
