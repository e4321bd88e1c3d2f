"""Multi-process jobs (nam_jax/multihost.py, nam_jax/launch.py, training/parallel.py,
nam/parts.py): the job's settings, the data shares, the launcher, and (slow) real 2-process
training and inference on this CPU compared with one process."""

import json
import os
import re
import pathlib
import signal
import subprocess
import sys
import time

import chex
import numpy as np
import pytest

from nam_jax import launch, multihost
from nam_jax.data import pipeline

ROOT = pathlib.Path(__file__).resolve().parents[2]
_ENVS = (multihost.ADDRESS_ENV, multihost.COUNT_ENV, multihost.INDEX_ENV, 'SLURM_NTASKS',
         'OMPI_COMM_WORLD_SIZE')


@pytest.fixture
def clean_env(monkeypatch):
  for name in _ENVS:
    monkeypatch.delenv(name, raising=False)
  return monkeypatch


def test_one_process_unless_the_job_says_otherwise(clean_env):
  assert multihost.plan() is None
  assert multihost.plan(count=1) is None
  clean_env.setenv(multihost.ADDRESS_ENV, 'node0:1234')
  clean_env.setenv(multihost.COUNT_ENV, '4')
  clean_env.setenv(multihost.INDEX_ENV, '3')
  assert multihost.plan() == {'coordinator_address': 'node0:1234', 'num_processes': 4,
                              'process_id': 3}
  # Flags win over the environment.
  assert multihost.plan('h:1', 2, 0) == {'coordinator_address': 'h:1', 'num_processes': 2,
                                         'process_id': 0}


def test_a_scheduler_with_several_tasks_is_left_to_jax_to_read(clean_env):
  clean_env.setenv('SLURM_NTASKS', '8')
  assert multihost.plan() == {}
  clean_env.setenv('SLURM_NTASKS', '1')
  assert multihost.plan() is None


@pytest.mark.parametrize('args, words', [
    (dict(count=2, index=0), 'coordinator_address'),
    (dict(address='h:1', count=2), '--process_id'),
    (dict(address='h:1', count=2, index=2), 'outside 0 .. 1'),
    (dict(address='nohost', count=2, index=0), 'host:port'),
    (dict(address='h:1', count=0, index=0), '>= 1'),
])
def test_an_incomplete_job_is_one_clear_error(clean_env, args, words):
  with pytest.raises(ValueError, match=words):
    multihost.plan(**args)


def test_a_bad_environment_variable_is_named(clean_env):
  clean_env.setenv(multihost.COUNT_ENV, 'two')
  with pytest.raises(ValueError, match=multihost.COUNT_ENV):
    multihost.plan()


@pytest.mark.parametrize('n, of', [(10, 3), (2, 4), (0, 2), (7, 1)])
def test_shares_cover_the_items_once_in_order(n, of):
  shares = [multihost.share(n, of, at) for at in range(of)]
  assert [i for s in shares for i in s] == list(range(n))
  assert max(map(len, shares)) - min(map(len, shares)) <= 1


def test_process_shares_of_a_batch_side_by_side_are_the_one_process_batch():
  source = (np.arange(10 * 4 * 4 * 3) % 251).astype(np.uint8).reshape(10, 4, 4, 3)
  whole = pipeline.training_batches(source, 4, seed=7)
  parts = [pipeline.training_batches(source, 4, seed=7, shard=(i, 2)) for i in range(2)]
  for k in (0, 1, 2, 5, 9):  # Across epochs (10 images, batches of 4).
    chex.assert_trees_all_equal(np.concatenate([p[k] for p in parts]), whole[k])
  with pytest.raises(ValueError, match='does not split'):
    pipeline.training_batches(source, 4, seed=7, shard=(0, 3))


def test_launcher_shares_the_cores_and_runs_scripts_with_this_python():
  assert launch.core_shares([0, 1, 2, 3, 4], 2) == [[0, 1, 2], [3, 4]]
  assert launch.core_shares([0, 1], 2) == [[0], [1]]
  assert launch.core_shares([5], 3) == [[5], [5], [5]]
  assert launch.command(['train.py', '--x']) == [sys.executable, 'train.py', '--x']
  assert launch.command(['-m', 'pytest']) == [sys.executable, '-m', 'pytest']
  assert launch.command(['echo', 'hi']) == ['echo', 'hi']


_PROBE = '''
import os, sys
from nam_jax import devices, multihost
devices.configure_host_cpu(1)
assert multihost.join()
import jax
multihost.barrier('start')
ok = multihost.all_ok(jax.process_index() != int(sys.argv[1]))
print(f'process {jax.process_index()} of {jax.process_count()}: {len(jax.devices())} devices, '
      f'cores {sorted(os.sched_getaffinity(0))}, all ok {ok}', flush=True)
'''


def _launch(args, processes, tmp_path, timeout=600, **kwargs):
  return subprocess.run([sys.executable, '-m', 'nam_jax.launch', f'--processes={processes}',
                         '--', *args], cwd=ROOT, capture_output=True, text=True,
                        timeout=timeout, **kwargs)


def test_launched_processes_join_one_job_on_their_own_cores(tmp_path):
  script = tmp_path / 'probe.py'
  script.write_text(_PROBE)
  proc = _launch([str(script), '-1'], 2, tmp_path)
  assert proc.returncode == 0, proc.stderr[-2000:]
  # The probe's own lines. Process 0 writes to the terminal itself while the launcher copies
  # process 1's lines: the two can meet within one line, so they are found by pattern.
  lines = re.findall(r'(?:\[process 1\] )?process \d of 2: [^\n]*?all ok (?:True|False)',
                     proc.stdout)
  assert len(lines) == 2, proc.stdout
  assert any(l.startswith('process 0 of 2: 2 devices') for l in lines), proc.stdout
  assert any(l.startswith('[process 1] process 1 of 2: 2 devices') for l in lines), proc.stdout
  assert all(l.endswith('all ok True') for l in lines)
  if len(os.sched_getaffinity(0)) >= 2:  # Each on its own share of the cores.
    cores = [l.split('cores ')[1].split(', all')[0] for l in lines]
    assert cores[0] != cores[1]
  # A vote: one process says no, every process hears it.
  proc = _launch([str(script), '1'], 2, tmp_path)
  assert proc.returncode == 0 and proc.stdout.count('all ok False') == 2, proc.stdout


def test_a_failing_process_stops_the_others_with_its_code(tmp_path):
  script = tmp_path / 'fail.py'
  script.write_text('import os, sys, time\n'
                    'if os.environ["JAX_PROCESS_ID"] == "1": sys.exit(3)\n'
                    'time.sleep(600)\n')
  t0 = time.monotonic()
  proc = _launch([str(script)], 2, tmp_path, timeout=120)
  assert proc.returncode == 3
  assert 'process 1 exited with code 3; stopping the others' in proc.stderr
  assert time.monotonic() - t0 < 60


def test_a_killed_process_gives_the_shells_code(tmp_path):
  """A child killed by SIGKILL: the launcher exits 137 (128 + 9), as a shell would say."""
  script = tmp_path / 'die.py'
  script.write_text('import os, signal, sys, time\n'
                    'if os.environ["JAX_PROCESS_ID"] == "1": os.kill(os.getpid(), signal.SIGKILL)\n'
                    'time.sleep(600)\n')
  proc = _launch([str(script)], 2, tmp_path, timeout=120)
  assert proc.returncode == 137
  assert 'process 1 was killed by SIGKILL (exit code 137)' in proc.stderr
  assert launch.shell_code(-15) == 143 and launch.shell_code(2) == 2


def test_an_interrupted_job_in_parts_is_completed_by_a_rerun(tmp_path, job_settings,
                                                            test_config, monkeypatch):
  """One process: the parts a killed job left are found, kept, and only the rest computed;
  the merged results equal an uninterrupted run's."""
  from nam_jax.nam import job, parts
  s = job_settings(input='synthetic:test', max_batch=4, out=str(tmp_path / 'straight'))
  assert job.super_resolve_job(s, test_config.data) == 0
  straight = json.loads((tmp_path / 'straight' / 'results.json').read_text())

  out = tmp_path / 'out'
  s = job_settings(input='synthetic:test', max_batch=4, out=str(out))
  folder = parts.folder_for(out)
  folder.mkdir(parents=True)  # Parts in --out: it runs in parts, as a multi-process job does.
  (folder / parts.JOB).write_text('{}')
  real_write = parts.write_part
  calls = []

  def write_then_die(*args):
    calls.append(real_write(*args))
    if len(calls) == 2:
      raise KeyboardInterrupt  # Killed after two parts.
  monkeypatch.setattr(parts, 'write_part', write_then_die)
  with pytest.raises(KeyboardInterrupt):
    job.super_resolve_job(s, test_config.data)
  monkeypatch.setattr(parts, 'write_part', real_write)
  assert not (out / 'results.json').exists()
  first = calls[0] / straight['inputs'][0]['name'] / 'grid.png'
  inode = first.stat().st_ino

  assert job.super_resolve_job(s, test_config.data) == 0
  merged = json.loads((out / 'results.json').read_text())
  assert not folder.exists()
  assert (out / straight['inputs'][0]['name'] / 'grid.png').stat().st_ino == inode  # Kept.
  assert merged['parts'] == 4  # Two from before, two new (one input each).
  assert [e['name'] for e in merged['inputs']] == [e['name'] for e in straight['inputs']]
  for a, b in zip(merged['inputs'], straight['inputs']):
    assert [c['lr_l1'] for c in a['candidates']] == pytest.approx(
        [c['lr_l1'] for c in b['candidates']], abs=1e-6)
  assert (out / 'index.html').is_file()


@pytest.mark.slow  # Whole jobs, run twice or three times (CI's slow step).
def test_a_long_one_process_run_keeps_each_part_as_it_finishes(tmp_path, job_settings,
                                                               test_config, monkeypatch):
  """More inputs than one part holds: a single process writes parts as it goes; killed, it
  keeps them, and the rerun searches only the inputs without results."""
  from nam_jax.nam import candidates, job, parts
  out = tmp_path / 'out'
  s = job_settings(input='synthetic:test', max_batch=4, out=str(out))
  real_write, written = parts.write_part, []

  def write_then_die(*args):
    written.append(real_write(*args))
    if len(written) == 2:
      raise KeyboardInterrupt
  monkeypatch.setattr(parts, 'write_part', write_then_die)
  with pytest.raises(KeyboardInterrupt):
    job.super_resolve_job(s, test_config.data)
  monkeypatch.setattr(parts, 'write_part', real_write)
  kept = parts.complete(parts.folder_for(out))
  assert len(kept) == 2 and not (out / 'results.json').exists()
  real_search, searched = candidates.search_inputs, []

  def counting(model, inputs, *args, **kwargs):
    searched.extend(inputs.names)
    return real_search(model, inputs, *args, **kwargs)
  monkeypatch.setattr(candidates, 'search_inputs', counting)
  assert job.super_resolve_job(s, test_config.data) == 0
  names = [e['name'] for e in json.loads((out / 'results.json').read_text())['inputs']]
  assert not set(searched) & set(kept) and sorted(searched + list(kept)) == sorted(names)


@pytest.mark.slow  # Whole jobs, run twice or three times (CI's slow step).
def test_a_merge_that_fails_midway_keeps_every_result(tmp_path, job_settings, test_config,
                                                       monkeypatch):
  """A merge killed after one input (an injected failure) leaves the parts whole: the rerun
  merges everything. An input whose folder was taken out of its part is computed again."""
  import shutil
  from nam_jax.nam import job, parts
  out = tmp_path / 'out'
  s = job_settings(input='synthetic:test', max_batch=4, out=str(out))
  folder = parts.folder_for(out)
  folder.mkdir(parents=True)
  (folder / parts.JOB).write_text('{}')  # A parts folder (of no job yet): it runs in parts.
  real_copytree = shutil.copytree
  copies = []

  def fail_on_second(*args, **kwargs):
    copies.append(args[0])
    if len(copies) == 2:
      raise OSError(28, 'No space left on device')
    return real_copytree(*args, **kwargs)
  monkeypatch.setattr(parts.shutil, 'copytree', fail_on_second)
  with pytest.raises(OSError):
    job.super_resolve_job(s, test_config.data)
  monkeypatch.setattr(parts.shutil, 'copytree', real_copytree)
  done = parts.complete(folder)
  assert len(done) == len(json.loads((folder / parts.JOB).read_text())['inputs'])
  assert all((part / name / 'grid.png').is_file() for name, part in done.items())

  # The user moves one input's folder out of its part: that input alone is computed again.
  name, part = sorted(done.items())[0]
  shutil.move(str(part / name), str(tmp_path / 'taken'))
  assert name not in parts.complete(folder)
  assert job.super_resolve_job(s, test_config.data) == 0
  merged = json.loads((out / 'results.json').read_text())
  assert sorted(e['name'] for e in merged['inputs']) == sorted(done)
  assert all((out / e['name'] / 'grid.png').is_file() for e in merged['inputs'])
  assert not folder.exists()


def test_parts_of_other_settings_are_discarded(tmp_path):
  from nam_jax.nam import parts
  folder = tmp_path / '.out.parts'
  said = []
  parts.prepare(folder, parts.job_record({'seeds': 4, 'out': 'a'}, ['x']), said.append)
  (folder / 'part-000000-p0').mkdir()
  parts.prepare(folder, parts.job_record({'seeds': 4, 'out': 'b'}, ['x']), said.append)
  assert (folder / 'part-000000-p0').is_dir() and not said  # --out is not a result setting.
  parts.prepare(folder, parts.job_record({'seeds': 8, 'out': 'b'}, ['x']), said.append)
  assert not (folder / 'part-000000-p0').exists() and 'discarded' in said[0]


# --- Real 2-process jobs on this CPU (gloo collectives), compared with one process. ---

def _pinned_to_one_core():
  core = min(os.sched_getaffinity(0))
  return lambda: os.sched_setaffinity(0, {core})


def _export_params(path):
  import orbax.checkpoint as ocp
  import jax
  return jax.tree.leaves(ocp.StandardCheckpointer().restore(pathlib.Path(path) / 'params'))


def _state_at(workdir, step):
  """A training checkpoint's state as host arrays, whatever devices wrote it."""
  import jax
  import orbax.checkpoint as ocp
  path = pathlib.Path(workdir) / 'checkpoints' / str(step) / 'state'
  ckptr = ocp.StandardCheckpointer()
  tree = ckptr.metadata(path)
  tree = getattr(tree, 'item_metadata', tree)
  here = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
  return ckptr.restore(path, jax.tree.map(
      lambda m: jax.ShapeDtypeStruct(m.shape, m.dtype, sharding=here), tree))


def _train(args, processes, tmp_path):
  if processes == 1:
    return subprocess.run([sys.executable, 'train.py', *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=900)
  return _launch(['train.py', *args], processes, tmp_path, timeout=900)


@pytest.mark.slow
@pytest.mark.parametrize('stage, atol', [('progan', 2e-2), ('stylegan_head', 1e-4)])
def test_training_on_two_processes_matches_one(tmp_path, test_config, stage, atol):
  """ProGAN: 15 steps through all five stages; the head: 2 steps at Adam's learning rate
  1e-3 (a first Adam step moves a weight by about the rate, so float noise in a near-zero
  gradient can move it by up to 2e-3: none does here). The gradient all-reduce sums in
  another order than one process does, so weights drift by float noise that the GAN's steps
  amplify. ProGAN, 15 steps, measured on a 2-core AMD EPYC: the first step's losses agree to
  1e-7 and the last's to 5e-4 (relative); 0.3% of the 7,567 weights differ by over 1e-4, the
  most 4.3e-3, and the difference of all weights is 6.8e-5 of their norm. A different seed
  moves all weights (a difference of the order of their norm), a skipped step every loss
  after it."""
  args = [f'--stage={stage}', '--config=configs/test.py']
  two = _train(args + [f'--workdir={tmp_path / "two"}'], 2, tmp_path)
  assert two.returncode == 0, two.stderr[-3000:]
  one = _train(args + [f'--workdir={tmp_path / "one"}'], 1, tmp_path)
  assert one.returncode == 0, one.stderr[-3000:]
  a, b = _export_params(tmp_path / 'one' / 'export'), _export_params(tmp_path / 'two' / 'export')
  assert len(a) == len(b) and len(a) > 10
  for x, y in zip(a, b):
    np.testing.assert_allclose(x, y, atol=atol)
  norm = lambda leaves: np.sqrt(sum(float(np.sum(np.square(x))) for x in leaves))
  assert norm([x - y for x, y in zip(a, b)]) < 5e-4 * norm(a)
  # Written once: each step's metrics are one line.
  # Each step's losses: the same run, not only the same end.
  losses = {n: [{k: v for k, v in json.loads(l).items() if k.endswith('loss')}
                for l in (tmp_path / n / 'metrics.jsonl').open() if 'loss' in l]
            for n in ('one', 'two')}
  assert len(losses['one']) == len(losses['two']) > 0
  for x, y in zip(losses['one'], losses['two']):
    assert x.keys() == y.keys() and x
    np.testing.assert_allclose([y[k] for k in x], list(x.values()), rtol=2e-3, atol=1e-6)
  steps = [json.loads(l)['step'] for l in (tmp_path / 'two' / 'metrics.jsonl').open()
           if 'steps_per_sec' in l]
  assert steps and len(steps) == len(set(steps))
  if stage == 'progan':
    assert 'data parallel over 2 devices' in two.stderr + two.stdout
    assert len(steps) == 15


def _flat(tree) -> np.ndarray:
  import jax
  return np.concatenate([np.ravel(v) for v in jax.tree.leaves(tree)])


@pytest.mark.slow
def test_degradation_on_two_processes_matches_one_and_resumes_on_one(tmp_path, test_config):
  """Two processes for 3 steps, then one process resumes to 6; against one process all along.
  With Adam (b1 = 0) a first step moves every weight by about the learning rate whatever the
  size of its gradient, and the GAN feeds that back, so float noise grows: measured, the two
  runs' updates differ by 1-3% of their size and 0.1% of the weights by more than 1e-4.
  Different batches or keys would differ by the whole update."""
  import jax
  from nam_jax.degrade import train as degrade_train
  args = ['--stage=degrade', '--config=configs/test.py', '--config.degrade.eval_samples=0']
  two = _train(args + [f'--workdir={tmp_path / "two"}', '--config.degrade.steps=3'], 2,
               tmp_path)
  assert two.returncode == 0, two.stderr[-3000:]
  resumed = _train(args + [f'--workdir={tmp_path / "two"}'], 1, tmp_path)
  assert resumed.returncode == 0, resumed.stderr[-3000:]
  assert 'resumed from step 3' in resumed.stderr + resumed.stdout
  one = _train(args + [f'--workdir={tmp_path / "one"}'], 1, tmp_path)
  assert one.returncode == 0, one.stderr[-3000:]
  init = degrade_train.init_state(test_config.degrade,
                                  jax.random.fold_in(jax.random.key(test_config.seed), 0))
  for step in (3, 6):
    a, b = _state_at(tmp_path / 'one', step), _state_at(tmp_path / 'two', step)
    for part in ('g_params', 'd_params'):
      start, x, y = _flat(getattr(init, part)), _flat(a[part]), _flat(b[part])
      assert np.linalg.norm(x - y) / np.linalg.norm(x - start) < 0.1, (step, part)
      assert np.mean(np.abs(x - y) <= 1e-4) > 0.99, (step, part)
  log = lambda w: {json.loads(l)['step']: json.loads(l) for l in (w / 'metrics.jsonl').open()}
  a, b = log(tmp_path / 'one'), log(tmp_path / 'two')
  for key in ('g_l1', 'g_perceptual', 'd_gp'):
    assert a[2][key] == pytest.approx(b[2][key], rel=1e-3), key


def _infer_args(ckpts, out, steps=6):
  return ['infer.py', '--config=configs/test.py', '--input=synthetic:test', '--seeds=4',
          f'--steps={steps}', '--max_batch=4', f'--prior_ckpt={ckpts / "progan"}',
          f'--degradation_ckpt={ckpts / "degrade"}', f'--out={out}']


def _candidates(out):
  results = json.loads((pathlib.Path(out) / 'results.json').read_text())
  return {e['name']: {c['seed']: c['lr_l1'] for c in e['candidates']}
          for e in results['inputs']}


def _pngs_equal(a, b):
  from PIL import Image
  for entry in json.loads((pathlib.Path(a) / 'results.json').read_text())['inputs']:
    for c in entry['candidates']:
      x = np.asarray(Image.open(pathlib.Path(a) / c['hr_path']))
      y = np.asarray(Image.open(pathlib.Path(b) / c['hr_path']))
      np.testing.assert_array_equal(x, y)


@pytest.mark.slow
def test_sr_nam_split_over_two_processes_equals_one_and_resumes_after_a_kill(
    tmp_path, ckpts, test_config):
  """Each launched process computes on one core, as the one-process reference does here, so
  the candidates agree to the bit (XLA's sums depend on the thread count)."""
  env = dict(os.environ, NAM_JAX_HOST_DEVICES='1')
  one = subprocess.run([sys.executable, *_infer_args(ckpts, tmp_path / 'one')], cwd=ROOT,
                       capture_output=True, text=True, env=env, timeout=600,
                       preexec_fn=_pinned_to_one_core())
  assert one.returncode == 0, one.stderr[-3000:]
  two = _launch(_infer_args(ckpts, tmp_path / 'two')[0:], 2, tmp_path, env=env)
  assert two.returncode == 0, two.stderr[-3000:]
  assert _candidates(tmp_path / 'two') == _candidates(tmp_path / 'one')
  _pngs_equal(tmp_path / 'one', tmp_path / 'two')

  # Kill process 1 once it has written a part; the launcher stops process 0.
  out = tmp_path / 'killed'
  folder = out / '.parts'
  job = subprocess.Popen([sys.executable, '-m', 'nam_jax.launch', '--processes=2', '--',
                          *_infer_args(ckpts, out, steps=400)], cwd=ROOT, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
  deadline = time.monotonic() + 300
  while not list(folder.glob('part-*-p1')) and time.monotonic() < deadline:
    assert job.poll() is None, job.communicate()[1][-3000:]
    time.sleep(0.05)
  import psutil
  for child in psutil.Process(job.pid).children():
    if child.environ().get(multihost.INDEX_ENV) == '1':
      child.send_signal(signal.SIGKILL)
  _, err = job.communicate(timeout=120)
  assert job.returncode == 128 + signal.SIGKILL, (job.returncode, err[-2000:])
  assert 'process 1 was killed by SIGKILL' in err
  assert not (out / 'results.json').exists()
  # The merge links each image of a part into --out (a folder is made anew, its files are not).
  kept = {p.name: (p / 'grid.png').stat().st_ino for part in folder.glob('part-*')
          for p in part.iterdir() if p.is_dir()}
  assert 1 <= len(kept) < 4

  rerun = subprocess.run([sys.executable, *_infer_args(ckpts, out, steps=400)], cwd=ROOT,
                         capture_output=True, text=True, env=env, timeout=600,
                         preexec_fn=_pinned_to_one_core())
  assert rerun.returncode == 0, rerun.stderr[-3000:]
  assert f'{len(kept)} done before, {4 - len(kept)} to do over 1 process(es)' in rerun.stdout
  assert not folder.exists()
  for name, inode in kept.items():  # Linked in, not computed again.
    assert (out / name / 'grid.png').stat().st_ino == inode
  straight = subprocess.run([sys.executable, *_infer_args(ckpts, tmp_path / 'straight',
                                                          steps=400)],
                            cwd=ROOT, capture_output=True, text=True, env=env, timeout=600,
                            preexec_fn=_pinned_to_one_core())
  assert straight.returncode == 0, straight.stderr[-3000:]
  assert _candidates(out) == _candidates(tmp_path / 'straight')


@pytest.mark.slow  # Whole jobs, run twice or three times (CI's slow step).
def test_a_full_disk_keeps_what_was_computed(tmp_path, job_settings, test_config, monkeypatch,
                                              capsys):
  """Too little space, known before the work: one line, nothing computed. A disk that fills
  during the run: the parts already written stay, the part being written is kept in the
  temporary folder, one line says how to finish."""
  import errno
  import shutil
  from nam_jax.nam import candidates, job, parts, report, space
  out = tmp_path / 'out'
  s = job_settings(input='synthetic:test', max_batch=4, out=str(out))
  searched = []
  real_search = candidates.search_inputs
  monkeypatch.setattr(candidates, 'search_inputs',
                      lambda *a, **k: searched.append(1) or real_search(*a, **k))
  usage = shutil.disk_usage(tmp_path)
  monkeypatch.setattr(space.shutil, 'disk_usage', lambda p: usage._replace(free=1000))
  assert job.super_resolve_job(s, test_config.data) == 2
  assert 'MB free' in capsys.readouterr().err and not searched
  monkeypatch.undo()

  monkeypatch.setattr(space.tempfile, 'gettempdir', lambda: str(tmp_path))
  real_write, calls = report.write, []

  def fill_up(*args, **kwargs):
    calls.append(1)
    if len(calls) == 2:
      raise OSError(errno.ENOSPC, 'No space left on device')
    return real_write(*args, **kwargs)
  monkeypatch.setattr(report, 'write', fill_up)
  assert job.super_resolve_job(s, test_config.data) == 1
  err = capsys.readouterr().err
  assert 'no space left' in err and 'run the same command to finish' in err
  assert len(parts.complete(parts.folder_for(out))) >= 1
  assert not list(parts.folder_for(out).glob('.writing-*'))
  rescued = list(tmp_path.glob('nam_jax_results_*.npz'))
  assert rescued and np.load(rescued[0])['hr'].dtype == np.uint8
  monkeypatch.setattr(report, 'write', real_write)
  assert job.super_resolve_job(s, test_config.data) == 0  # Space again: it finishes.
