"""Inference checkpoints on disk: the weights inference needs, plus the model's shape in JSON.

  DIR/model.json   {"kind": ..., the model's static shape (widths, ...), "source": training info}
  DIR/params/      orbax StandardCheckpointer tree

This module knows no model family: each family writes and reads its own checkpoints through
`save`, `read_meta` and `restore` (nam_jax/progan/prior.py, nam_jax/degrade/degradation.py).
Training workdirs hold full training state instead; the trainers export from it.
"""

from __future__ import annotations

import json
import pathlib
import shutil

import jax
import orbax.checkpoint as ocp


class CheckpointError(ValueError):
  """A missing, foreign or mismatched checkpoint; the message names the directory."""


def save(out_dir: str | pathlib.Path, meta: dict, tree) -> pathlib.Path:
  """Writes DIR/model.json and DIR/params; the previous DIR stays until the new one is whole."""
  out_dir = pathlib.Path(out_dir).absolute()
  tmp = out_dir.with_name(out_dir.name + '.tmp')
  shutil.rmtree(tmp, ignore_errors=True)
  tmp.mkdir(parents=True)
  ckptr = ocp.StandardCheckpointer()
  ckptr.save(tmp / 'params', tree)
  ckptr.wait_until_finished()
  (tmp / 'model.json').write_text(json.dumps(meta, indent=2))
  shutil.rmtree(out_dir, ignore_errors=True)
  tmp.rename(out_dir)
  return out_dir


def read_meta(ckpt_dir: str | pathlib.Path, kind: str) -> dict:
  """model.json of an inference checkpoint, checked to be of `kind`."""
  ckpt_dir = pathlib.Path(ckpt_dir)
  meta_path = ckpt_dir / 'model.json'
  if not ckpt_dir.is_dir():
    raise CheckpointError(f'{ckpt_dir}: checkpoint directory not found')
  if not meta_path.is_file() or not (ckpt_dir / 'params').is_dir():
    raise CheckpointError(f'{ckpt_dir}: not a nam_jax inference checkpoint '
                          '(model.json and params/ expected; see nam_jax/weights.py)')
  try:
    meta = json.loads(meta_path.read_text())
  except json.JSONDecodeError as e:
    raise CheckpointError(f'{meta_path}: corrupt model.json ({e})') from None
  if meta.get('kind') != kind:
    raise CheckpointError(f'{ckpt_dir}: holds a {meta.get("kind")!r} checkpoint, '
                          f'expected a {kind!r} one')
  return meta


def restore(ckpt_dir: str | pathlib.Path, like) -> dict:
  """The params/ tree of a checkpoint, restored into the structure and shapes of `like`."""
  ckpt_dir = pathlib.Path(ckpt_dir)
  abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, like)
  try:
    return ocp.StandardCheckpointer().restore(ckpt_dir.absolute() / 'params', abstract)
  except Exception as e:  # orbax raises several types for shape/structure mismatches.
    first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    raise CheckpointError(f'{ckpt_dir}: weights do not match model.json ({first})') from None
