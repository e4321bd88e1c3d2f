"""Orbax checkpoints of training state: keep the last few, resume from the newest.

A checkpoint holds {state: pytree of arrays, meta: JSON}. It is written after step k completes
and named k + 1 (the next step to run), so resuming runs step k + 1 with the batch and keys an
uninterrupted run would have used (batches and keys are functions of the step number).
"""

from __future__ import annotations

import pathlib
from typing import Any

import jax
import orbax.checkpoint as ocp


def manager(directory: str | pathlib.Path, keep: int = 3) -> ocp.CheckpointManager:
  options = ocp.CheckpointManagerOptions(max_to_keep=keep, create=True,
                                         enable_async_checkpointing=False)
  return ocp.CheckpointManager(pathlib.Path(directory).absolute(), options=options,
                               item_names=('state', 'meta'))


def save(mngr: ocp.CheckpointManager, step: int, state: Any, meta: dict) -> None:
  mngr.save(step, args=ocp.args.Composite(state=ocp.args.StandardSave(state),
                                          meta=ocp.args.JsonSave(meta)), force=True)
  mngr.wait_until_finished()


def restore_latest(mngr: ocp.CheckpointManager, like: Any) -> tuple[int, Any, dict] | None:
  """(step, state, meta) of the newest checkpoint, restored into the structure of `like`;
  None when there is none."""
  step = mngr.latest_step()
  if step is None:
    return None
  abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, like)
  out = mngr.restore(step, args=ocp.args.Composite(state=ocp.args.StandardRestore(abstract),
                                                   meta=ocp.args.JsonRestore()))
  return step, out['state'], dict(out['meta'] or {})


def open_workdir(config, workdir, init_state: Any, keep: int
                 ) -> tuple[pathlib.Path, ocp.CheckpointManager, int, Any, dict]:
  """Creates `workdir` (recording the config) and resumes from its newest checkpoint.

  Returns:
    (workdir, manager, first step to run, state, checkpoint meta); a fresh run starts at 0
    with `init_state`.
  """
  workdir = pathlib.Path(workdir)
  workdir.mkdir(parents=True, exist_ok=True)
  (workdir / 'config.json').write_text(config.to_json_best_effort(indent=2))
  mngr = manager(workdir / 'checkpoints', keep)
  try:
    restored = restore_latest(mngr, init_state)
  except (ValueError, KeyError) as e:
    raise ValueError(f'the checkpoint in {workdir} does not fit this config '
                     f'(different widths or sizes?): {e}') from None
  if restored is None:
    return workdir, mngr, 0, init_state, {}
  step, state, meta = restored
  return workdir, mngr, step, state, meta
