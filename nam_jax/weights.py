"""Inference checkpoints on disk: the weights inference needs, plus the model's shape in JSON.

  DIR/model.json   {"kind": ..., the model's static shape (widths, ...), "source": training info,
                   "params_sha256": checksum of the weights, verified on every load}
  DIR/params/      orbax StandardCheckpointer tree

This module knows no model family: each family writes and reads its own checkpoints through
`save`, `read_meta` and `restore` (nam_jax/progan/prior.py, nam_jax/degradations/h2l.py).
Training workdirs hold full training state instead; the trainers export from it.
"""

from __future__ import annotations

import hashlib
import json
import pathlib
import shutil

import jax
import numpy as np
import orbax.checkpoint as ocp

from nam_jax import files


class CheckpointError(ValueError):
  """A missing, foreign or mismatched checkpoint; the message names the directory."""


def non_finite(tree) -> list[str]:
  """Paths of the float arrays of a pytree that hold NaN or infinite values."""
  flat, _ = jax.tree_util.tree_flatten_with_path(jax.device_get(tree))
  return [jax.tree_util.keystr(p) for p, x in flat
          if np.issubdtype(np.asarray(x).dtype, np.floating) and not np.all(np.isfinite(x))]


def digest(tree) -> str:
  """SHA-256 over every array of a pytree: path, shape, dtype and bytes."""
  h = hashlib.sha256()
  flat, _ = jax.tree_util.tree_flatten_with_path(jax.device_get(tree))
  for path, leaf in flat:
    leaf = np.asarray(leaf)
    h.update(f'{jax.tree_util.keystr(path)}|{leaf.shape}|{leaf.dtype}|'.encode())
    h.update(np.ascontiguousarray(leaf).tobytes())
  return h.hexdigest()


def _checkpointer() -> ocp.StandardCheckpointer:
  """Orbax for files this process reads or writes alone: an inference checkpoint is host
  arrays, so in a multi-process job no other process takes part (orbax would wait for all)."""
  if jax.process_count() == 1:
    return ocp.StandardCheckpointer()
  me = jax.process_index()
  return ocp.StandardCheckpointer(multiprocessing_options=ocp.options.MultiprocessingOptions(
      primary_host=me, active_processes={me}))


def save(out_dir: str | pathlib.Path, meta: dict, tree) -> pathlib.Path:
  """Writes DIR/model.json (with the weights' checksum) and DIR/params; the previous DIR
  stays until the new one is whole."""
  out_dir = pathlib.Path(out_dir).absolute()
  tmp = out_dir.with_name(out_dir.name + '.tmp')
  old = out_dir.with_name(out_dir.name + '.old')
  shutil.rmtree(tmp, ignore_errors=True)
  tmp.mkdir(parents=True)
  ckptr = _checkpointer()
  # Host arrays: the files then name no device layout (a data-parallel run's weights are
  # replicated over several devices; inference may run on one).
  ckptr.save(tmp / 'params', jax.device_get(tree))
  ckptr.wait_until_finished()
  files.write_json(tmp / 'model.json', {**meta, 'params_sha256': digest(tree)})
  shutil.rmtree(old, ignore_errors=True)
  if out_dir.exists():
    out_dir.rename(old)
  tmp.rename(out_dir)
  shutil.rmtree(old, ignore_errors=True)
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
  except (json.JSONDecodeError, UnicodeDecodeError) as e:
    raise CheckpointError(f'{meta_path}: corrupt model.json ({e})') from None
  if not isinstance(meta, dict) or meta.get('kind') != kind:
    found = meta.get('kind') if isinstance(meta, dict) else None
    raise CheckpointError(f'{ckpt_dir}: holds a {found!r} checkpoint, expected a {kind!r} one')
  return meta


def _stored_shapes(params_dir: pathlib.Path) -> dict[str, tuple]:
  """keystr path -> shape of every array orbax recorded for a params/ tree."""
  tree = _checkpointer().metadata(params_dir)
  tree = getattr(tree, 'item_metadata', tree)
  flat, _ = jax.tree_util.tree_flatten_with_path(
      tree, is_leaf=lambda x: hasattr(x, 'shape'))
  return {jax.tree_util.keystr(p): tuple(x.shape) for p, x in flat}


def restore(ckpt_dir: str | pathlib.Path, like) -> dict:
  """The params/ tree of a checkpoint, restored into the structure and shapes of `like` and
  checked against the checksum in model.json (when it has one) and for finite values.

  Errors name the problem in one line: weights of another shape ("do not match
  model.json") are told apart from damaged files (truncated, missing, flipped bits).
  """
  ckpt_dir = pathlib.Path(ckpt_dir)
  params_dir = ckpt_dir.absolute() / 'params'
  # Onto this process's first device, whatever layout the writer had (exports written
  # before weights were saved as host arrays may name several devices).
  first = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
  abstract = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=first),
                          like)
  try:
    tree = _checkpointer().restore(params_dir, abstract)
  except Exception as e:  # orbax and tensorstore raise many types.
    first = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
    try:
      stored = _stored_shapes(params_dir)
    except Exception:  # The metadata itself is unreadable.
      stored = None
    flat, _ = jax.tree_util.tree_flatten_with_path(abstract)
    wanted = {jax.tree_util.keystr(p): tuple(x.shape) for p, x in flat}
    if stored is not None and stored != wanted:
      raise CheckpointError(f'{ckpt_dir}: weights do not match model.json ({first})') from None
    raise CheckpointError(f'{ckpt_dir}: weight files are damaged or incomplete '
                          f'({first})') from None
  meta = json.loads((ckpt_dir / 'model.json').read_text())
  expected = meta.get('params_sha256')
  if expected and digest(tree) != expected:
    raise CheckpointError(f'{ckpt_dir}: weight files are damaged (their checksum does not '
                          'match model.json)')
  bad = non_finite(tree)
  if bad:
    raise CheckpointError(f'{ckpt_dir}: weights hold non-finite values ({bad[0]})')
  return tree
