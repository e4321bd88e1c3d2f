"""The evaluation runs behind evaluate.py: test sets, SR-NAM as a scored method, the reach
table, results merged with earlier runs of the same faces, and the best-of-k curve.

Scoring itself is nam_jax/eval/suite.py (one scorer for every method and every run).
"""

from __future__ import annotations

import dataclasses
import json
import pathlib

import numpy as np

from nam_jax import files, images, layers, priors
from nam_jax.data import datasets, other_cameras, real_faces
from nam_jax import faces
from nam_jax.eval import lpips, reach, suite
from nam_jax.nam import candidates, groups, models, rank, settings

SETS = tuple(f'real_{kind}' for kind in real_faces.LR_KINDS) + ('synthetic',)
# Never used to choose or tune anything (nam_jax/data/other_cameras.py).
HELD_OUT = f'real_{other_cameras.HELD_OUT}'


def set_name(name: str, lr_size: int = 16) -> str:
  """A test set's name with its LR faces made at `lr_size` px: real_KIND_Spx when not 16."""
  return name if lr_size == 16 else f'{name}_{lr_size}px'


def test_set(name: str, config, images: int = 64, only: tuple = (), lr_size: int = 16
             ) -> 'suite.TestSet':
  """A test set with HR truth: 'synthetic' (its first `images` faces) or real_KIND (the
  faces named in `only`, if given), with its LR faces made at `lr_size` px (real sets only:
  the same faces and draws, named real_KIND_Spx when not 16)."""
  if lr_size != 16:
    if not name.startswith('real_'):
      raise ValueError(f'--lr_size={lr_size}: only the real sets are made at other sizes')
    test = test_set(name, config, images, only)
    kind = name.removeprefix('real_')
    return dataclasses.replace(test, name=set_name(name, lr_size),
                               lr_images=real_faces.make_lr(test.hr, kind, size=lr_size))
  if name == 'synthetic':
    pairs = datasets.lr_test_pairs(config.data, limit=images)
    return suite.TestSet(name, pairs['lr'], pairs['hr'],
                         tuple(f'seed{int(s)}' for s in pairs['seed']))
  if name.startswith('real_') and name.removeprefix('real_') in real_faces.LR_KINDS:
    rf = real_faces.load()
    unknown = sorted(set(only) - set(rf.names))
    if unknown:
      raise ValueError(f'--faces: no real faces named {unknown}; known: {", ".join(rf.names)}')
    keep = [i for i, n in enumerate(rf.names) if not only or n in only]
    return suite.TestSet(name, rf.lr[name.removeprefix('real_')][keep], rf.hr[keep],
                         tuple(rf.names[i] for i in keep))
  raise ValueError(f'unknown test set {name!r}')


def sr_nam_method(name: str, job, model):

  def run(x):
    r = models.super_resolve(model, x, job)
    order = ranking(job, r, x)
    ranked_loss = np.take_along_axis(r['loss'], order, axis=1)
    # '_'-keys are kept per candidate for offline studies (evaluate.py writes them), not scored.
    fit = {'lr_l1': ranked_loss[:, 0], '_lr_l1': ranked_loss}
    if 'degradation' in r:  # auto: the share of inputs it gave the general choice (camera).
      general = job.choices[-1][0]
      fit['auto_camera'] = (np.asarray(r['degradation']) == general).astype(np.float32)
    if 'render_lr_l1' in r:  # Rendered larger: what is shown is scored, at 64 px.
      fit['render_lr_l1'] = np.take_along_axis(r['render_lr_l1'], order, axis=1)[:, 0]
    return np.take_along_axis(shown(r), order[:, :, None, None, None], axis=1), fit
  return suite.Method(name, run)


def ranking(job, result: dict, lr_images: np.ndarray) -> np.ndarray:
  """[I, S] candidate order of a search's result, as infer.py ranks them (job.rank)."""
  desc = groups.descriptors(result['hr']) if job.rank != 'fit' else None
  return rank.order(result['loss'], desc, job.rank,
                    **candidates.rank_inputs(job.rank, result, lr_images))


def shown(result: dict) -> np.ndarray:
  """The candidates a user sees, at 64 px in [-1, 1] [I, S, 64, 64, 3]: the searched ones,
  or their renders at the output size reduced to 64 px."""
  if 'hr_large' not in result:
    return result['hr']
  big = result['hr_large']
  flat = images.as_float(big.reshape((-1,) + big.shape[2:]))
  return np.asarray(layers.shrink(flat, 64)).reshape(big.shape[:2] + (64, 64, 3))


def reach_table(test, job, nam_cfg, base_dir=None) -> dict:
  """{degradation: mean reach} of every degradation of the config's nam.degradations but
  those that choose (and the area + colour affine reference) with the set's true faces; the
  job's own degradation with its checkpoint and options."""
  out = {}
  for name in nam_cfg.degradations:
    block = settings.degradation_block(nam_cfg, name)
    if block['choices']:
      continue
    d = (priors.load_degradation(job.degradation_module, job.degradation_ckpt,
                                 dict(job.degradation_options)) if name == job.degradation
         else models.load_degradation(nam_cfg, name, base_dir))
    out[name] = float(np.mean(reach.reach(d.model, d.weights, test.hr, test.lr_images)))
    print(f'reach {name}: {out[name]:.4f}')
  out['area + colour affine'] = float(np.mean(reach.area_affine_reach(test.hr,
                                                                      test.lr_images)))
  return out


def best_of_k_plot(test, job, model, out_dir: pathlib.Path, k_max: int) -> dict:
  """Oracle best-of-k LPIPS and identity share (k = 1..k_max) of SR-NAM candidates."""

  import matplotlib
  matplotlib.use('Agg')
  import matplotlib.pyplot as plt

  job = dataclasses.replace(job, seeds=k_max)
  r = models.super_resolve(model, test.lr_images, job)
  n = len(test.hr)
  lp = lpips.lpips(r['hr'].reshape((n * k_max, 64, 64, 3)),
                   np.repeat(test.hr, k_max, axis=0)).reshape(n, k_max)
  truths = [faces.truth(h) for h in test.hr]
  ident = np.array([[faces.compare(images.as_uint8(c), t)['identity'] for c in cs]
                    for cs, t in zip(r['hr'], truths)])
  ks = [k for k in (1, 2, 4, 8, 16, 32, 64, 128, 256) if k <= k_max]
  curve = {'k': ks,
           'lpips_oracle': [float(lp[:, :k].min(1).mean()) for k in ks],
           'identity_kept_oracle': [float((ident[:, :k].min(1) < faces.SAME_PERSON).mean())
                                    for k in ks],
           # What a user gets without the truth: the lowest LR L1 among the first k seeds.
           'lpips_top_by_lr_l1': [float(np.mean([lp[i, np.argmin(r['loss'][i, :k])]
                                                 for i in range(n)])) for k in ks]}
  fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
  axes[0].plot(ks, curve['lpips_oracle'], 'o-', label='best of k (oracle)')
  axes[0].plot(ks, curve['lpips_top_by_lr_l1'], 's--', label='lowest LR L1 of k')
  axes[0].set(xscale='log', xlabel='seeds k', ylabel='LPIPS to true face (lower is better)')
  axes[0].legend()
  axes[1].plot(ks, curve['identity_kept_oracle'], 'o-')
  axes[1].set(xscale='log', xlabel='seeds k', ylabel='share with a candidate < 0.6',
              ylim=(0, 1))
  fig.suptitle(f'SR-NAM ({job.prior}) on {test.name}: {n} faces, {k_max} seeds')
  fig.tight_layout()
  path = files.figure_path(out_dir, f'eval_best_of_k_{test.name}.png')
  fig.savefig(path, dpi=100)
  print(f'wrote {path}')
  return curve


def merge_with_earlier(out_dir: pathlib.Path, test, results: dict, outputs: dict):
  """Adds the methods of an earlier run on the same faces that this run did not redo, so
  methods can be scored one at a time (e.g. a baseline trained later). The top 4 candidates
  of every method are kept in OUT/eval_SET_outputs.npz for the grid."""
  json_path = out_dir / f'eval_{test.name}.json'
  npz_path = out_dir / f'eval_{test.name}_outputs.npz'
  merged_results, merged_outputs = {}, {}
  if json_path.is_file() and npz_path.is_file():
    old = json.loads(json_path.read_text())
    saved = np.load(npz_path)
    if old.get('faces') == list(test.names):
      for name, r in old['results'].items():
        key = f'm{list(old["results"]).index(name)}'
        if name not in results and key in saved:
          merged_results[name] = r
          merged_outputs[name] = images.as_float(saved[key])
  merged_results.update(results)
  merged_outputs.update({k: v[:, :4] for k, v in outputs.items()})
  tmp = npz_path.with_name(npz_path.stem + '.tmp.npz')
  np.savez_compressed(tmp, **{f'm{i}': images.as_uint8(merged_outputs[name])
                   for i, name in enumerate(merged_results)})
  tmp.replace(npz_path)
  return merged_results, merged_outputs


def save_raw(out_dir: pathlib.Path, test, raw: dict) -> pathlib.Path:
  """OUT/raw/eval_SET.npz: every method's candidates (uint8) and per-candidate figures, keys
  'mI/NAME' for method I (names in 'methods'), with the faces and the LR inputs."""
  path = out_dir / 'raw' / f'eval_{test.name}.npz'
  path.parent.mkdir(parents=True, exist_ok=True)
  arrays = {'faces': np.array(test.names), 'lr': test.lr_images, 'hr': test.hr,
            'methods': np.array(list(raw))}
  for i, (name, r) in enumerate(raw.items()):
    arrays.update({f'm{i}/{k}': v for k, v in r.items()})
  tmp = path.with_name(path.stem + '.tmp.npz')
  np.savez_compressed(tmp, **arrays)
  tmp.replace(path)
  return path


def sr_nam_key(methods) -> str:
  """The key prefix 'mI' of the first SR-NAM method among a raw file's `methods`."""
  return next(f'm{i}' for i, name in enumerate(methods) if str(name).startswith('sr_nam'))


def earlier_reach(out_dir: pathlib.Path, set_name: str) -> dict:
  path = out_dir / f'eval_{set_name}.json'
  return json.loads(path.read_text()).get('reach', {}) if path.is_file() else {}


def reach_markdown(reaches: dict) -> str:
  """One-row table: the reach of each degradation with the true faces."""
  return ('| reach of the true face (LR L1) | ' + ' | '.join(reaches) + ' |\n| --- |' +
          ' --- |' * len(reaches) + '\n| mean over faces | ' +
          ' | '.join(f'{v:.4f}' for v in reaches.values()) + ' |')
