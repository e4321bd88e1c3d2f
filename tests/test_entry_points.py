"""The commands of README.md, run as a user runs them."""

import json
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _run(args, env_root, timeout=900):
  import os
  env = dict(os.environ, NAM_JAX_DATA=str(env_root))
  return subprocess.run([sys.executable] + args, cwd=ROOT, capture_output=True, text=True,
                        env=env, timeout=timeout)


def test_infer_runs_on_the_bundled_examples_with_the_shipped_checkpoints(tmp_path):
  out = tmp_path / 'out'
  proc = _run(['infer.py', '--seeds', '2', '--steps', '2', f'--out={out}'], tmp_path)
  assert proc.returncode == 0, proc.stderr[-3000:]
  results = json.loads((out / 'results.json').read_text())
  names = sorted(p.stem for p in (ROOT / 'examples').iterdir() if p.is_file())  # Not photos/.
  assert sorted(e['name'] for e in results['inputs']) == names
  for entry in results['inputs']:
    assert (out / entry['grid']).is_file() and len(entry['candidates']) == 2


def test_infer_missing_checkpoint_is_one_line(tmp_path):
  proc = _run(['infer.py', '--prior_ckpt', str(tmp_path / 'none')], tmp_path)
  assert proc.returncode == 2
  lines = [l for l in proc.stderr.splitlines() if l.startswith('error:')]
  assert len(lines) == 1 and 'checkpoint directory not found' in lines[0]


@pytest.mark.slow
@pytest.mark.parametrize('stage', ['degrade', 'progan'])
def test_train_cli_with_test_config_and_resume(tmp_path, stage):
  wd = tmp_path / stage
  args = ['train.py', f'--stage={stage}', '--config=configs/test.py', f'--workdir={wd}']
  first = _run(args, tmp_path)
  assert first.returncode == 0, first.stderr[-3000:]
  assert (wd / 'export' / 'model.json').is_file()
  second = _run(args, tmp_path)
  assert second.returncode == 0
  assert 'already trained' in second.stderr + second.stdout or 'resumed' in (
      second.stderr + second.stdout)
