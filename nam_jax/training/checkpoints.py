"""Orbax checkpoints of training state: keep the last few, verify on restore, resume.

A checkpoint holds {state: pytree of arrays, meta: JSON}. It is written after step k completes
and named k + 1 (the next step to run), so resuming runs step k + 1 with the batch and keys an
uninterrupted run would have used (batches and keys are functions of the step number).

The meta records a SHA-256 of every array of the state and the tree's shapes. Restoring checks
both, and that every value is finite: a checkpoint that fails (a truncated or deleted file, a
flipped bit) is reported in one line, moved to `checkpoints_damaged/` (never deleted), and the
run falls back to the newest good one. A checkpoint whose shapes differ from the config's
state is not damage but a different config: that stops the run with one line.

In a multi-process job every process saves and restores (orbax writes each array once and
restores it into the sharding of the state given, so a run resumes with any process count);
only the first process records the config and moves damaged checkpoints aside.
"""

from __future__ import annotations

import pathlib
import shutil
from typing import Any

import jax
import numpy as np
import orbax.checkpoint as ocp

from nam_jax import files, multihost, weights


class CheckpointDamaged(RuntimeError):
  """No checkpoint in a workdir can be restored intact; the message names them."""


class CheckpointMismatch(ValueError):
  """A checkpoint of a different config (other widths or sizes) is in the workdir."""


def manager(directory: str | pathlib.Path, keep: int = 3) -> ocp.CheckpointManager:
  options = ocp.CheckpointManagerOptions(max_to_keep=keep, create=True,
                                         enable_async_checkpointing=False)
  return ocp.CheckpointManager(pathlib.Path(directory).absolute(), options=options,
                               item_names=('state', 'meta'))


def _leaves(tree) -> list[tuple[str, np.ndarray]]:
  flat, _ = jax.tree_util.tree_flatten_with_path(jax.device_get(tree))
  return [(jax.tree_util.keystr(path), np.asarray(leaf)) for path, leaf in flat]


def shapes(tree) -> list[list]:
  """[path, shape, dtype] of every array: what a config fixes about its training state."""
  return [[path, list(np.shape(leaf)), str(np.asarray(leaf).dtype) if hasattr(leaf, 'dtype')
           else type(leaf).__name__] for path, leaf in _leaves(tree)]


def save(mngr: ocp.CheckpointManager, step: int, state: Any, meta: dict) -> None:
  meta = {**meta, 'state_sha256': weights.digest(state), 'state_shapes': shapes(state)}
  mngr.save(step, args=ocp.args.Composite(state=ocp.args.StandardSave(state),
                                          meta=ocp.args.JsonSave(meta)), force=True)
  mngr.wait_until_finished()


def _first_line(e: BaseException) -> str:
  text = str(e).strip()
  return f'{type(e).__name__}: {text.splitlines()[0][:200]}' if text else type(e).__name__


def _mismatch(expected: list, found: list) -> str | None:
  """The first difference between two shape records, or None when they agree."""
  if len(expected) != len(found):
    return f'{len(found)} arrays in the checkpoint, {len(expected)} in this config'
  for e, f in zip(expected, found):
    if list(e) != list(f):
      return f'{f[0]} is {f[1]} {f[2]} in the checkpoint, {e[1]} {e[2]} in this config'
  return None


def _stored_shapes(mngr: ocp.CheckpointManager, step: int) -> list[tuple] | None:
  """Sorted shapes of the state arrays orbax recorded at `step`; None when unreadable."""
  try:
    tree = mngr.item_metadata(step)['state']
    leaves = jax.tree.leaves(tree, is_leaf=lambda x: hasattr(x, 'shape'))
    return sorted(tuple(x.shape) for x in leaves)
  except Exception:  # Damaged metadata: the restore below decides.
    return None


def _restore_step(mngr: ocp.CheckpointManager, step: int, like: Any) -> tuple[Any, dict]:
  """One checkpoint, verified. Raises CheckpointMismatch for another config's checkpoint and
  any other exception for damage."""
  meta = mngr.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))['meta']
  if not isinstance(meta, dict):
    raise ValueError('its meta is missing or not a JSON object')
  if 'state_shapes' in meta:
    diff = _mismatch(shapes(like), meta['state_shapes'])
    if diff:
      raise CheckpointMismatch(diff)
  else:  # Written before checksums: compare the shapes orbax recorded, as multisets.
    stored = _stored_shapes(mngr, step)
    wanted = sorted(tuple(s) for _, s, _ in shapes(like))
    if stored is not None and stored != wanted:
      raise CheckpointMismatch(f'{len(stored)} arrays of other shapes than this config\'s '
                               f'{len(wanted)}')
  abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, like)
  state = mngr.restore(step, args=ocp.args.Composite(
      state=ocp.args.StandardRestore(abstract)))['state']
  if 'state_sha256' in meta and weights.digest(state) != meta['state_sha256']:
    raise ValueError('its arrays do not match the checksum written with them')
  bad = weights.non_finite(state)
  if bad:
    raise ValueError(f'non-finite values in {bad[0]}' + (f' and {len(bad) - 1} more arrays'
                                                          if len(bad) > 1 else ''))
  return state, meta


def restore_latest(mngr: ocp.CheckpointManager, like: Any, say=print
                   ) -> tuple[int, Any, dict] | None:
  """(step, state, meta) of the newest intact checkpoint, restored into the structure of
  `like`; None when there is none. Damaged ones are moved aside (see the module docstring).

  Raises:
    CheckpointMismatch: the checkpoints were written by a different config.
    CheckpointDamaged: there are checkpoints but none is intact.
  """
  directory = pathlib.Path(mngr.directory)
  steps = sorted(mngr.all_steps(), reverse=True)
  damaged = []
  for step in steps:
    try:
      state, meta = _restore_step(mngr, step, like)
    except CheckpointMismatch as e:
      raise CheckpointMismatch(
          f'the checkpoint at step {step} in {directory} was written by a different config '
          f'({e}); use another --workdir or the config it was trained with') from None
    except Exception as e:  # Orbax and tensorstore raise many types for unreadable files.
      aside = directory.with_name(directory.name + '_damaged') / str(step)
      if multihost.is_primary():
        aside.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(aside, ignore_errors=True)
        shutil.move(str(directory / str(step)), str(aside))
      damaged.append(step)
      say(f'checkpoint at step {step} is damaged ({_first_line(e)}); moved to {aside}')
      continue
    if damaged:
      mngr.reload()
      say(f'resuming from the newest intact checkpoint, step {step}')
    return step, state, dict(meta)
  if damaged:
    mngr.reload()
    raise CheckpointDamaged(
        f'all {len(damaged)} checkpoints in {directory} are damaged (moved to '
        f'{directory.name}_damaged/); rerun to start over from step 0')
  return None


def open_workdir(config, workdir, init_state: Any, keep: int, say=print
                 ) -> tuple[pathlib.Path, ocp.CheckpointManager, int, Any, dict]:
  """Creates `workdir` and resumes from its newest intact checkpoint.

  config.json records the config of the run that started the workdir and is never rewritten;
  resuming with a different config records it beside, as config_step{N}.json.

  Returns:
    (workdir, manager, first step to run, state, checkpoint meta); a fresh run starts at 0
    with `init_state`.
  """
  workdir = pathlib.Path(workdir)
  workdir.mkdir(parents=True, exist_ok=True)
  mngr = manager(workdir / 'checkpoints', keep)
  restored = restore_latest(mngr, init_state, say)
  if multihost.is_primary():
    _record_config(config, workdir, restored[0] if restored else 0, say)
  if restored is None:
    return workdir, mngr, 0, init_state, {}
  step, state, meta = restored
  return workdir, mngr, step, state, meta


def _record_config(config, workdir: pathlib.Path, step: int, say) -> None:
  """config.json of the run that started the workdir; a different config resumed at `step`
  beside it as config_step{step}.json."""
  text = config.to_json_best_effort(indent=2)
  recorded = workdir / 'config.json'
  if not recorded.exists():
    files.write_text(recorded, text)
  elif recorded.read_text() != text:
    files.write_text(workdir / f'config_step{step}.json', text)
    say(f'the config differs from {recorded}; recorded as config_step{step}.json')
