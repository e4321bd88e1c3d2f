"""Reliability: damaged checkpoints, the workdir lock, results that survive kills and reruns,
inference that checks its inputs and --out before computing."""

import json
import os
import pathlib
import shutil
import subprocess
import sys

import chex
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image

from nam_jax import weights
from nam_jax.degrade import train as degrade_train
from nam_jax.nam import chunks, job, settings
from nam_jax.progan import train as progan_train
from nam_jax.training import checkpoints, lock

ROOT = pathlib.Path(__file__).resolve().parents[1]


# ---- training checkpoints -------------------------------------------------------------------

def _state(k: int) -> dict:
  return {'w': jnp.arange(4000.0) * k, 'b': {'c': jnp.full((40, 40), float(k))},
          'n': jnp.int32(k)}


def _saved(directory: pathlib.Path, steps=(2, 4, 6)):
  mngr = checkpoints.manager(directory, keep=3)
  for k in steps:
    checkpoints.save(mngr, k, _state(k), {'step': k})
  return mngr


def _files(directory: pathlib.Path) -> list[pathlib.Path]:
  """Files below `directory`, smallest first."""
  return sorted((p for p in directory.rglob('*') if p.is_file()), key=lambda p: p.stat().st_size)


def _truncate_file(f: pathlib.Path, keep: float = 0.5) -> None:
  f.write_bytes(f.read_bytes()[:int(f.stat().st_size * keep)])


def _flip_a_bit(f: pathlib.Path) -> None:
  data = bytearray(f.read_bytes())
  data[len(data) // 2] ^= 0x10
  f.write_bytes(bytes(data))


def _truncate(step_dir):
  _truncate_file(_files(step_dir / 'state')[-1])


def _delete(step_dir):
  _files(step_dir / 'state')[-1].unlink()


def _delete_metadata(step_dir):
  found = [p for p in _files(step_dir / 'state') if p.name == '_METADATA']
  assert found
  found[0].unlink()


def _flip_bit(step_dir):
  _flip_a_bit(_files(step_dir / 'state')[-1])


def _flip_value(step_dir):
  """A bit flip that orbax cannot see: the checkpoint is rewritten with one changed value
  under the old checksum (what a flip inside uncompressed array bytes amounts to)."""
  meta = json.loads((step_dir / 'meta' / 'metadata').read_text())
  mngr = checkpoints.manager(step_dir.parent, keep=3)
  state = _state(6)
  state['w'] = state['w'].at[1234].set(1e34)
  shutil.rmtree(step_dir)
  mngr.reload()
  mngr.save(6, args=checkpoints.ocp.args.Composite(
      state=checkpoints.ocp.args.StandardSave(state), meta=checkpoints.ocp.args.JsonSave(meta)))
  mngr.wait_until_finished()


DAMAGE = {'truncated': _truncate, 'deleted file': _delete, 'flipped bit': _flip_bit,
          'changed value': _flip_value}


@pytest.mark.parametrize('damage', list(DAMAGE))
def test_damaged_latest_checkpoint_falls_back_to_the_newest_good_one(tmp_path, damage):
  _saved(tmp_path / 'checkpoints')
  DAMAGE[damage](tmp_path / 'checkpoints' / '6')
  said = []
  mngr = checkpoints.manager(tmp_path / 'checkpoints', keep=3)
  step, state, meta = checkpoints.restore_latest(mngr, _state(0), said.append)
  assert step == 4 and meta['step'] == 4
  chex.assert_trees_all_equal(state, _state(4))
  assert any('step 6 is damaged' in s for s in said), said
  assert all('\n' not in s for s in said)
  assert (tmp_path / 'checkpoints_damaged' / '6').is_dir()  # Kept, not deleted.
  assert mngr.all_steps() == [2, 4]
  checkpoints.save(mngr, 6, _state(6), {'step': 6})  # The run can write step 6 again.
  assert checkpoints.restore_latest(mngr, _state(0))[0] == 6


def test_deleted_tree_metadata_is_not_taken_for_another_config(tmp_path):
  # The state's structure comes from the config and its bytes are checked against the
  # checksum, so a checkpoint without orbax's _METADATA still restores, verified.
  _saved(tmp_path / 'checkpoints')
  _delete_metadata(tmp_path / 'checkpoints' / '6')
  mngr = checkpoints.manager(tmp_path / 'checkpoints', keep=3)
  step, state, _ = checkpoints.restore_latest(mngr, _state(0), lambda s: None)
  assert step == 6
  chex.assert_trees_all_equal(state, _state(6))


def test_every_checkpoint_damaged_is_one_clear_error(tmp_path):
  _saved(tmp_path / 'checkpoints')
  for k in (2, 4, 6):
    _truncate(tmp_path / 'checkpoints' / str(k))
  mngr = checkpoints.manager(tmp_path / 'checkpoints', keep=3)
  with pytest.raises(checkpoints.CheckpointDamaged, match='all 3 checkpoints') as e:
    checkpoints.restore_latest(mngr, _state(0), lambda s: None)
  assert '\n' not in str(e.value)
  # The next run starts over (nothing silently: the error above came first).
  assert checkpoints.restore_latest(mngr, _state(0)) is None


def test_checkpoint_of_another_config_is_a_mismatch_not_damage(tmp_path):
  _saved(tmp_path / 'checkpoints')
  other = dict(_state(0), w=jnp.zeros(10))
  mngr = checkpoints.manager(tmp_path / 'checkpoints', keep=3)
  with pytest.raises(checkpoints.CheckpointMismatch, match=r"\['w'\] is \[4000\]") as e:
    checkpoints.restore_latest(mngr, other, lambda s: None)
  assert 'different config' in str(e.value) and '\n' not in str(e.value)
  assert not (tmp_path / 'checkpoints_damaged').exists()  # Nothing moved.


# ---- the workdir lock -----------------------------------------------------------------------

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


# ---- training results that survive kills and reruns -----------------------------------------

def _exported(path):
  from nam_jax.progan import prior
  return prior.load(path)[1]


@pytest.mark.slow  # Two ProGAN runs: a minute or more; the kill trials cover the same ground.
def test_progan_rerun_rebuilds_lost_results_and_survives_a_damaged_latest_checkpoint(
    test_config, tmp_path):
  workdir = tmp_path / 'progan'
  progan_train.train(test_config, workdir)
  eval_json = json.loads((workdir / 'eval.json').read_text())
  assert sorted(eval_json['fvd_per_stage']) == ['0', '1', '2', '3', '4']
  params = _exported(workdir / 'export')
  config_text = (workdir / 'config.json').read_text()
  # Results lost (a kill at the end), the latest checkpoint damaged, a changed config.
  for name in ('eval.json', 'images/stages.png'):
    (workdir / name).unlink()
  shutil.rmtree(workdir / 'export')
  latest = max(int(p.name) for p in (workdir / 'checkpoints').iterdir() if p.name.isdigit())
  _flip_bit(workdir / 'checkpoints' / str(latest))
  changed = test_config.copy_and_resolve_references()
  changed.progan.log_every = 3  # Not part of the trained state.
  progan_train.train(changed, workdir)
  assert json.loads((workdir / 'eval.json').read_text()) == eval_json
  assert (workdir / 'images' / 'stages.png').is_file()
  chex.assert_trees_all_equal(_exported(workdir / 'export'), params)
  assert (workdir / 'config.json').read_text() == config_text  # Never rewritten.
  assert len(list(workdir.glob('config_step*.json'))) == 1  # The changed config, beside.
  assert (workdir / 'checkpoints_damaged' / str(latest)).is_dir()


def test_degrade_rerun_writes_the_evaluation_a_kill_interrupted(test_config, tmp_path):
  config = test_config.copy_and_resolve_references()
  config.degrade.eval_samples = 16
  workdir = tmp_path / 'degrade'
  degrade_train.train(config, workdir)
  first = json.loads((workdir / 'eval.json').read_text())
  (workdir / 'eval.json').unlink()  # Killed during the final evaluation.
  degrade_train.train(config, workdir)
  assert json.loads((workdir / 'eval.json').read_text()) == first


# ---- inference: weights, flags, --out, non-finite results -----------------------------------

def _settings(ckpts, **overrides):
  values = dict(seeds=2, steps=3, max_batch=8, learning_rate=0.05, unroll=1, progress=False,
                prior_ckpt=str(ckpts / 'progan'), degradation_ckpt=str(ckpts / 'degrade'))
  values.update(overrides)
  from configs import test as test_cfg
  return settings.from_config(test_cfg.get_config().nam, values)


def _run(ckpts, config, capsys, **overrides) -> tuple[int, str]:
  code = job.super_resolve_job(_settings(ckpts, **overrides), config.data)
  return code, capsys.readouterr().err.strip()


def test_damaged_weight_files_are_named_as_damage(ckpts, tmp_path, test_config, capsys):
  for damage, message in ((_flip_bit_params, 'damaged'), (_truncate_params, 'damaged')):
    bad = tmp_path / damage.__name__
    shutil.copytree(ckpts / 'progan', bad)
    damage(bad)
    code, err = _run(ckpts, test_config, capsys, prior_ckpt=str(bad), out=str(tmp_path / 'o'))
    assert code == 2 and err.count('\n') == 0 and message in err, err
    assert 'do not match model.json' not in err
    assert not (tmp_path / 'o').exists()


def _flip_bit_params(ckpt):
  _flip_a_bit(_files(ckpt / 'params')[-1])


def _truncate_params(ckpt):
  _truncate_file(_files(ckpt / 'params')[-1], keep=1 / 3)


def test_model_json_carries_the_checksum_of_the_weights(ckpts):
  meta = json.loads((ckpts / 'progan' / 'model.json').read_text())
  params = _exported(ckpts / 'progan')  # Loading verifies it; here the stored value itself.
  assert meta['params_sha256'] == weights.digest({'params': params})


@pytest.mark.parametrize('flag, value, message', [
    ('seeds', 0, 'seeds must be >= 1'), ('seeds', -1, 'seeds must be >= 1'),
    ('learning_rate', float('nan'), 'learning_rate must be finite'),
    ('learning_rate', -0.1, 'learning_rate must be finite and > 0'),
    ('steps', 0, 'steps must be >= 1'), ('max_batch', 0, 'max_batch must be >= 1')])
def test_bad_flags_are_rejected_before_anything_runs(ckpts, flag, value, message):
  with pytest.raises(ValueError, match=message):
    _settings(ckpts, **{flag: value})


def test_infer_cli_bad_seeds_is_one_line(tmp_path):
  proc = subprocess.run([sys.executable, 'infer.py', '--seeds=-1', f'--out={tmp_path / "o"}'],
                        cwd=ROOT, capture_output=True, text=True, timeout=300,
                        env=dict(os.environ, JAX_PLATFORMS='cpu'))
  assert proc.returncode == 2 and proc.stderr.strip() == 'error: seeds must be >= 1, got -1'
  assert not (tmp_path / 'o').exists()


@pytest.fixture
def no_compute(monkeypatch):
  def fail(*args, **kwargs):
    raise AssertionError('computed although --out was unusable')
  monkeypatch.setattr(chunks, 'super_resolve', fail)
  monkeypatch.setattr(chunks, 'load_model', fail)


def test_unusable_out_is_refused_before_any_compute(ckpts, tmp_path, test_config, capsys,
                                                    no_compute):
  afile = tmp_path / 'results.txt'
  afile.write_text('mine')
  code, err = _run(ckpts, test_config, capsys, out=str(afile))
  assert code == 2 and 'is a file' in err and afile.read_text() == 'mine'
  others = tmp_path / 'photos'
  others.mkdir()
  (others / 'keep.jpg').write_text('mine')
  code, err = _run(ckpts, test_config, capsys, out=str(others))
  assert code == 2 and 'other files' in err and (others / 'keep.jpg').read_text() == 'mine'


def test_unwritable_out_is_refused_before_any_compute(ckpts, tmp_path, test_config, capsys,
                                                     no_compute):
  (tmp_path / 'afile').write_text('mine')  # A place no folder can be made in, even as root.
  code, err = _run(ckpts, test_config, capsys, out=str(tmp_path / 'afile' / 'out'))
  assert code == 2 and 'cannot create its parent folder' in err and err.count('\n') == 0


def test_rerun_replaces_old_results_as_a_whole_and_a_crash_keeps_them(
    ckpts, tmp_path, test_config, capsys, monkeypatch):
  out = tmp_path / 'out'
  assert _run(ckpts, test_config, capsys, input='examples', limit=2, out=str(out))[0] == 0
  first = json.loads((out / 'results.json').read_text())
  assert len(first['inputs']) == 2
  # A second run with one input: no file of the first run's second input is left.
  assert _run(ckpts, test_config, capsys, input='examples', limit=1, out=str(out))[0] == 0
  second = json.loads((out / 'results.json').read_text())
  assert [p.name for p in out.iterdir() if p.is_dir()] == [second['inputs'][0]['name']]
  # A crash in the middle of the next run: the previous results stay whole.
  before = sorted(str(p.relative_to(out)) for p in out.rglob('*'))

  def crash(*args, **kwargs):
    raise KeyboardInterrupt('killed')

  monkeypatch.setattr(chunks, 'super_resolve', crash)
  with pytest.raises(KeyboardInterrupt):
    _run(ckpts, test_config, capsys, input='examples', limit=2, out=str(out))
  assert sorted(str(p.relative_to(out)) for p in out.rglob('*')) == before
  assert not list(tmp_path.glob('.out.*'))  # No staging folder left behind.


def _strict(text: str):
  def refuse(name):
    raise ValueError(f'non-strict JSON constant {name}')
  return json.loads(text, parse_constant=refuse)


def test_diverged_candidates_are_reported_and_all_diverged_fails(ckpts, tmp_path, test_config,
                                                                 capsys, monkeypatch):
  real = chunks.super_resolve

  def some_nan(model, lr_images, settings, **kw):
    out = real(model, lr_images, settings, **kw)
    out['hr'][0, 1] = np.nan
    out['loss'][0, 1] = np.nan
    return out

  monkeypatch.setattr(chunks, 'super_resolve', some_nan)
  out = tmp_path / 'out'
  code, err = _run(ckpts, test_config, capsys, input='examples', limit=1, out=str(out))
  assert code == 0 and 'diverged:' in err and 'seed 1' in err
  results = _strict((out / 'results.json').read_text())
  cands = results['inputs'][0]['candidates']
  assert results['diverged'] == 1
  assert [c['diverged'] for c in cands] == [False, True]
  assert cands[1]['lr_l1'] is None and cands[1]['hr_path'] is None
  before = (out / 'results.json').read_text()

  def all_nan(model, lr_images, settings, **kw):
    out = real(model, lr_images, settings, **kw)
    out['loss'][:] = np.nan
    return out

  monkeypatch.setattr(chunks, 'super_resolve', all_nan)
  code, err = _run(ckpts, test_config, capsys, input='examples', limit=1, out=str(out))
  assert code == 1 and 'every candidate diverged' in err
  assert (out / 'results.json').read_text() == before


# ---- input images -----------------------------------------------------------------------------

def test_exif_orientation_is_applied(tmp_path):
  from nam_jax.data import folder
  x = np.zeros((32, 64, 3), np.uint8)
  x[:, :32] = 255  # Left half white, as stored.
  im = Image.fromarray(x)
  exif = im.getexif()
  exif[0x0112] = 6  # Stored rotated: display after a 90-degree clockwise turn.
  im.save(tmp_path / 'photo.jpg', exif=exif.tobytes(), quality=95)
  loaded = folder.load_image(tmp_path / 'photo.jpg', 16)
  upright = np.asarray(Image.fromarray(x).rotate(-90, expand=True))
  assert loaded.shape == (16, 16, 3)
  top, bottom = loaded[:8].mean(), loaded[8:].mean()
  assert (top > bottom) == (upright[:32].mean() > upright[32:].mean()) and abs(top - bottom) > 100


def test_every_unusable_path_is_reported_once(ckpts, tmp_path, test_config, capsys):
  inp = tmp_path / 'in'
  inp.mkdir()
  Image.fromarray(np.full((32, 32, 3), 128, np.uint8)).save(inp / 'good.png')
  (inp / 'dangling.png').symlink_to(tmp_path / 'gone.png')
  (inp / 'loop.png').symlink_to(inp / 'loop.png')
  (inp / 'notes.txt').write_text('hello')
  code, err = _run(ckpts, test_config, capsys, input=str(inp), out=str(tmp_path / 'out'))
  assert code == 0
  for name, why in (('dangling.png', 'broken symbolic link'), ('loop.png', 'link loop'),
                    ('notes.txt', 'not an image')):
    lines = [l for l in err.splitlines() if name in l]
    assert len(lines) == 1 and why in lines[0], err
  results = json.loads((tmp_path / 'out' / 'results.json').read_text())
  assert len(results['skipped']) == 3
