"""Inference checkpoints: just the weights inference needs, plus the model's shape in JSON.

  DIR/model.json   {"kind": "degrader" | "generator", widths, ..., "source": training info}
  DIR/params/      orbax StandardCheckpointer tree (degrader: params + batch_stats;
                   generator: the EMA weights)

These are what the repository ships under checkpoints/ and what infer.py loads. Training
workdirs hold full training state instead; `export_*` turns one into the other.
"""

from __future__ import annotations

import json
import pathlib
import shutil

import jax
import jax.numpy as jnp
import orbax.checkpoint as ocp

from nam_jax.degrade import model as degrade_model
from nam_jax.progan import model as progan_model


class CheckpointError(ValueError):
  """A missing, foreign or mismatched checkpoint; the message names the directory."""


def _save(out_dir: pathlib.Path, meta: dict, tree) -> pathlib.Path:
  out_dir = pathlib.Path(out_dir).absolute()
  tmp = out_dir.with_name(out_dir.name + '.tmp')
  shutil.rmtree(tmp, ignore_errors=True)
  tmp.mkdir(parents=True)
  ckptr = ocp.StandardCheckpointer()
  ckptr.save(tmp / 'params', tree)
  ckptr.wait_until_finished()
  (tmp / 'model.json').write_text(json.dumps(meta, indent=2))
  shutil.rmtree(out_dir, ignore_errors=True)
  tmp.rename(out_dir)  # The previous export stays until the new one is complete.
  return out_dir


def export_degrader(cfg, params, batch_stats, out_dir, source: dict | None = None):
  meta = {'kind': 'degrader', 'widths': list(cfg.gen_widths),
          'blocks_per_group': cfg.blocks_per_group, 'noise_dim': cfg.noise_dim,
          'source': source or {}}
  return _save(out_dir, meta, {'params': params, 'batch_stats': batch_stats})


def export_generator(cfg, ema_params, out_dir, source: dict | None = None):
  meta = {'kind': 'generator', 'widths': list(cfg.widths), 'latent_dim': cfg.latent_dim,
          'source': source or {}}
  return _save(out_dir, meta, {'params': ema_params})


def _read_meta(ckpt_dir: pathlib.Path, kind: str) -> dict:
  meta_path = ckpt_dir / 'model.json'
  if not ckpt_dir.is_dir():
    raise CheckpointError(f'{ckpt_dir}: checkpoint directory not found')
  if not meta_path.is_file() or not (ckpt_dir / 'params').is_dir():
    raise CheckpointError(f'{ckpt_dir}: not a nam_jax inference checkpoint '
                          '(model.json and params/ expected; see nam_jax/export.py)')
  try:
    meta = json.loads(meta_path.read_text())
  except json.JSONDecodeError as e:
    raise CheckpointError(f'{meta_path}: corrupt model.json ({e})') from None
  if meta.get('kind') != kind:
    raise CheckpointError(f'{ckpt_dir}: holds a {meta.get("kind")!r} checkpoint, '
                          f'expected a {kind!r} one')
  return meta


def _restore(ckpt_dir: pathlib.Path, like) -> dict:
  abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, like)
  try:
    return ocp.StandardCheckpointer().restore(ckpt_dir.absolute() / 'params', abstract)
  except Exception as e:  # orbax raises several types for shape/structure mismatches.
    first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    raise CheckpointError(f'{ckpt_dir}: weights do not match model.json ({first})') from None


def load_degrader(ckpt_dir) -> tuple[dict, dict]:
  """(meta, {'params', 'batch_stats'}) of an exported degradation generator."""
  ckpt_dir = pathlib.Path(ckpt_dir)
  meta = _read_meta(ckpt_dir, 'degrader')
  net = degrade_model.Degrader(tuple(meta['widths']), meta['blocks_per_group'])
  like = jax.eval_shape(lambda: net.init(jax.random.key(0), jnp.zeros((1, 64, 64, 3)),
                                         jnp.zeros((1, meta['noise_dim']))))
  return meta, _restore(ckpt_dir, dict(like))


def load_generator(ckpt_dir) -> tuple[dict, dict]:
  """(meta, {'params'}) of an exported EMA generator."""
  ckpt_dir = pathlib.Path(ckpt_dir)
  meta = _read_meta(ckpt_dir, 'generator')
  net = progan_model.Generator(tuple(meta['widths']))
  like = jax.eval_shape(lambda: net.init_all(jax.random.key(0), meta['latent_dim']))
  return meta, _restore(ckpt_dir, dict(like))
