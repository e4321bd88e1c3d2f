"""Checkpoints: training checkpoints (nam_jax/training/checkpoints.py) that fall back past
damage and refuse another config, training results rebuilt by a rerun, and exported weights
(nam_jax/weights.py) with their checksum."""

import json
import pathlib
import shutil

import chex
import jax
import jax.numpy as jnp
import pytest

from nam_jax import weights
from nam_jax.degrade import train as degrade_train
from nam_jax.nam import job
from nam_jax.progan import train as progan_train
from nam_jax.training import checkpoints


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


@pytest.mark.slow  # Two degradation trainings (20 s); the kill trials cover reruns too.
def test_degrade_rerun_writes_the_evaluation_a_kill_interrupted(test_config, tmp_path):
  config = test_config.copy_and_resolve_references()
  config.degrade.eval_samples = 16
  workdir = tmp_path / 'degrade'
  degrade_train.train(config, workdir)
  first = json.loads((workdir / 'eval.json').read_text())
  (workdir / 'eval.json').unlink()  # Killed during the final evaluation.
  degrade_train.train(config, workdir)
  assert json.loads((workdir / 'eval.json').read_text()) == first


def test_damaged_weight_files_are_named_as_damage(job_settings, ckpts, tmp_path, test_config,
                                                  capsys):
  for damage, message in ((_flip_bit_params, 'damaged'), (_truncate_params, 'damaged')):
    bad = tmp_path / damage.__name__
    shutil.copytree(ckpts / 'progan', bad)
    damage(bad)
    code = job.super_resolve_job(job_settings(seeds=1, steps=1, prior_ckpt=str(bad),
                                              out=str(tmp_path / 'o')), test_config.data)
    err = capsys.readouterr().err.strip()
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


def test_the_shared_run_trains_resumes_and_finishes_once_more_only_what_is_missing(tmp_path):
  """nam_jax/training/run.py: a toy stage trains 4 steps with a checkpoint every 2, stops
  (as a kill would) after 2, resumes at 2 without building its steps again from scratch, and
  a rerun of the finished run only calls finish with redo=False (no step built)."""
  import ml_collections
  from nam_jax.training import run, states
  assert states.OneNetwork(1, 2).opt_state == 2  # The shared state types are pytrees.
  assert len(jax.tree.leaves(states.Gan(1, 2, 3, 4, {}, 5))) == 5
  cfg = ml_collections.ConfigDict(dict(steps=4, log_every=1, ckpt_every=2, image_every=0,
                                       keep_ckpts=2))
  config = ml_collections.ConfigDict(dict(name='toy', toy=cfg))
  built, finished, seen = [], [], []

  def steps():
    built.append(1)

    def step_fn(state, k):
      seen.append(k)
      return {'x': state['x'] + 1.0}, {'x': state['x']}
    return step_fn

  def finish(workdir, state, redo, writer):
    finished.append((float(state['x']), redo, writer is not None))

  toy = run.Run('toy', cfg, {'x': jnp.zeros(())}, steps, finish)
  half = run.Run('toy', ml_collections.ConfigDict({**cfg, 'steps': 2}), toy.initial, steps,
                 finish)
  run.run(config, tmp_path, half)
  state = run.run(config, tmp_path, toy)
  assert seen == [0, 1, 2, 3] and float(state['x']) == 4.0
  assert (tmp_path / 'metrics.jsonl').is_file()
  assert finished == [(2.0, True, True), (4.0, True, True)]
  run.run(config, tmp_path, toy)
  assert len(built) == 2 and finished[-1] == (4.0, False, False)
