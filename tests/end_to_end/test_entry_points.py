"""The commands of README.md, run as a user runs them."""

import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _run(args, env_root, timeout=900):
  import os
  env = dict(os.environ, NAM_JAX_DATA=str(env_root))
  return subprocess.run([sys.executable] + args, cwd=ROOT, capture_output=True, text=True,
                        env=env, timeout=timeout)


# About 50 s (the shipped prior's programs compile for both degradations `auto` picks): under
# `-m slow`; the default suite runs the same job with test-size networks (test_job.py).
@pytest.mark.slow
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


def test_every_stage_of_the_table_names_a_trainer():
  """Each entry of nam_jax/training/stages.py names a module with train(config, workdir,
  **arguments)."""
  import importlib
  import inspect
  from nam_jax.training.stages import STAGES
  assert {'degrade', 'progan', 'stylegan_head', 'l2h', 'urdgn', 'lr_kind'} <= set(STAGES)
  for name, stage in STAGES.items():
    params = inspect.signature(importlib.import_module(stage.module).train).parameters
    assert list(params)[:2] == ['config', 'workdir'], name
    assert set(dict(stage.arguments)) <= set(params), name


@pytest.mark.slow
def test_the_lr_kind_classifier_trains_as_a_stage_and_auto_loads_it(tmp_path):
  """A stage like the others: `train.py --stage=lr_kind` trains and exports a classifier
  that --degradation=auto loads."""
  wd = tmp_path / 'lr_kind'
  run = _run(['train.py', '--stage=lr_kind', '--config=configs/test.py', f'--workdir={wd}'],
             tmp_path)
  assert run.returncode == 0, run.stderr[-3000:]
  assert 'held-out synthetic accuracy' in run.stdout
  from nam_jax.degradations import auto
  chooser, params, meta = auto.load(wd / 'export')
  assert meta['source']['train_faces'] == 8
  assert len(chooser.choose(params, np.zeros((2, 16, 16, 3), np.uint8), ('a', 'b'))) == 2


def _probes(tmp_path):
  """(argv, extra environment, expected part of the one error line) per bad command line."""
  wd, out = tmp_path / 'wd', tmp_path / 'out'
  (tmp_path / 'afile').write_text('x')
  cpu = '--config=configs/cpu.py'
  train = ['train.py', '--stage=degrade']
  return [
      (train + ['--config=nope.py', f'--workdir={wd}'], {}, '--config nope.py: no such file'),
      (train + [cpu, '--config.degrade.batchsize=4', f'--workdir={wd}'], {}, 'batch_size'),
      (train + [cpu, '--config.degrade.batch_size=abc', f'--workdir={wd}'], {},
       "invalid literal for int() with base 10: 'abc'"),
      (train + [cpu, f'--workdir={tmp_path / "afile"}'], {}, 'is a file, not a folder'),
      (train + [cpu, f'--workdir={wd}'],
       {'XLA_FLAGS': '--xla_force_host_platform_device_count'}, 'needs =N'),
      (['infer.py', '--config.nam.seedz=3', f'--out={out}'], {}, 'seeds'),
      (['prepare_data.py', '--config=nope.py'], {}, '--config nope.py: no such file'),
      (['evaluate.py', '--sets=real_bicubic,nope', f'--out={out}'], {},
       "--sets: unknown ['nope']"),
      (['evaluate.py', '--methods=foo', f'--out={out}'], {}, "--methods: unknown"),
      (['evaluate.py', '--seeds=-1', f'--out={out}'], {}, '--seeds must be at least 1'),
      (['evaluate.py', '--images=0', f'--out={out}'], {}, '--images must be'),
      (['evaluate.py', '--settings=oops', f'--out={out}'], {}, 'NAME:key=value'),
      (['evaluate.py', '--settings=a:steps=x', f'--out={out}'], {},
       "'x' is not a whole number"),
      (['infer.py', '--prior=progan', '--prior_options=w_plus=True', f'--out={out}'], {},
       "face prior 'progan' has no option w_plus"),
      (['evaluate.py', '--generators=h2l', f'--out={out}'], {}, '--generators=h2l needs --ckpts'),
      (['evaluate.py', '--generators=progan_ema', f'--workdir={tmp_path / "empty"}',
        f'--out={out}'], {}, 'no ProGAN checkpoint in'),
      # The library's own command lines, the same style (nam_jax/cli.py).
      (['-m', 'nam_jax.launch', '--processes=2'], {}, 'nothing to run'),
      (['-m', 'nam_jax.launch', '--', 'no-such-program'], {}, 'cannot run no-such-program'),
      (['-m', 'nam_jax.launch', '--procs=2', '--', 'train.py'], {},
       "Unknown command line flag 'procs'"),
      (['-m', 'nam_jax.eval.ranking', '--seeds=x'], {}, 'flag --seeds=x'),
      (['-m', 'nam_jax.stylegan.convert', '--outt=x'], {}, "Unknown command line flag 'outt'"),
      (['-m', 'nam_jax.data.real_faces', '--rebuild=maybe'], {}, 'flag --rebuild=maybe'),
  ]


# The first probe of each README command runs by default; every probe under `-m slow` (each
# is a fresh interpreter that imports JAX: about 50 s for all of them on a 2-core CPU).
_README_COMMANDS = ('train.py', 'infer.py', 'prepare_data.py', 'evaluate.py')


def _check_probes(tmp_path, probes):
  """All probes run at once; each must stop with exit code 2, one line on stderr, and leave
  no workdir, lock or output behind."""
  import os
  wd, out = tmp_path / 'wd', tmp_path / 'out'
  procs = [subprocess.Popen([sys.executable] + args, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, NAM_JAX_DATA=str(tmp_path / 'data'), **env))
           for args, env, _ in probes]
  for (args, _, expected), proc in zip(probes, procs):
    _, err = proc.communicate(timeout=300)
    lines = [line for line in err.splitlines() if line.strip()]
    assert proc.returncode == 2, (args, err[-2000:])
    assert len(lines) == 1 and lines[0].startswith('error: ') and expected in lines[0], (
        args, err[-2000:])
  assert not wd.exists() and not out.exists() and not (tmp_path / 'data').exists()


def test_bad_input_to_each_command_is_one_line_and_exit_2_before_any_work(tmp_path):
  first = {}
  for probe in _probes(tmp_path):
    if probe[0][0] in _README_COMMANDS:
      first.setdefault(probe[0][0], probe)
  assert len(first) == 4  # train.py, infer.py, prepare_data.py, evaluate.py.
  _check_probes(tmp_path, list(first.values()))


@pytest.mark.slow
def test_bad_input_to_every_entry_point_is_one_line_and_exit_2_before_any_work(tmp_path):
  _check_probes(tmp_path, _probes(tmp_path))


_NO_JAX_PROBE = '''
import runpy, sys
sys.argv = ['infer.py'] + sys.argv[1:]
try:
  runpy.run_path('infer.py', run_name='__main__')
except SystemExit as e:
  print('exit', e.code, 'jax' in sys.modules, 'nam_jax.devices' in sys.modules)
'''


@pytest.mark.parametrize('flag, expected', [
    ('--size=63', 'value should be one of <64|128|256|512|1024>'),
    ('--pick=x:-1', "--pick entry 'x:-1'"),
    ('--seeds=0', 'seeds must be >= 1'),
    ('--steps=0', 'steps must be >= 1'),
    ('--prior=nope', "unknown face prior 'nope'"),
])
def test_infer_reports_a_bad_flag_before_importing_jax(flag, expected):
  """Every flag is checked before JAX (seconds to import) or any model is loaded."""
  run = subprocess.run([sys.executable, '-c', _NO_JAX_PROBE, flag], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
  assert run.stdout.split() == ['exit', '2', 'False', 'False'], (run.stdout, run.stderr[-2000:])
  assert expected in run.stderr, run.stderr[-2000:]


@pytest.mark.slow
def test_the_encoder_trains_as_a_stage_resumes_and_infer_starts_from_it(tmp_path):
  """`train.py --stage=encoder` (test config) trains 2 steps, a rerun asked for 3 resumes at 2
  and exports with its measured spread; infer.py --start=encoder searches from it."""
  wd = tmp_path / 'encoder'
  args = ['train.py', '--stage=encoder', '--config=configs/test.py', f'--workdir={wd}']
  first = subprocess.run([sys.executable, *args, '--config.encoder.steps=2'], cwd=ROOT,
                         capture_output=True, text=True, timeout=900)
  assert first.returncode == 0, first.stderr[-3000:]
  again = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                         timeout=900)
  assert again.returncode == 0, again.stderr[-3000:]
  assert 'resumed from step 2' in again.stdout + again.stderr
  assert 'held-out h2l: style error' in again.stdout
  from nam_jax.stylegan import encoder
  _, params, meta = encoder.load(wd / 'export')
  assert meta['source']['steps'] == 3 and float(np.min(params['spread'])) > 0
  out = tmp_path / 'out'
  run = subprocess.run([sys.executable, 'infer.py', '--seeds=2', '--steps=2', '--limit=1',
                        '--start=encoder', f'--encoder_ckpt={wd / "export"}', f'--out={out}'],
                       cwd=ROOT, capture_output=True, text=True, timeout=900)
  assert run.returncode == 0, run.stderr[-3000:]
  assert json.loads((out / 'results.json').read_text())['settings']['start'] == 'encoder'
