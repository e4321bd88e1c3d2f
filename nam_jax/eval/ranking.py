"""Which candidate to put first? Rankings of SR-NAM's candidates compared on a real-face set.

SR-NAM ranks an input's candidates by their final LR L1. This study keeps every candidate of
a run (with its LR L1) and scores the top candidate under other rankings, for the first k of
the seeds (k = 4, 8, ..., S):

  lr_l1                      lowest final LR L1 (what infer.py does)
  consensus                  nearest on average to the other candidates in dlib descriptor
                             space (the identity most candidates agree on)
  consensus of best m        the same among the m candidates with the lowest LR L1
  most neighbours            most candidates within dlib's same-person distance (0.6)
  lr_l1 + w consensus        per input, z-scored LR L1 plus w times z-scored consensus
  oracle                     the candidate nearest the true identity (not a ranking: the
                             ceiling, 'identity kept by any candidate')

Each row: identity kept by the top candidate (dlib distance to the truth < 0.6), mean identity
distance, LPIPS and landmark NME of the top candidate, and its LR L1.

  python -m nam_jax.eval.ranking --set=real_camera --degradation=camera --seeds=16 \
      --out=docs/ranking
"""

from __future__ import annotations

import pathlib

import numpy as np

from nam_jax import faces, images, skin
from nam_jax.eval import lpips
from nam_jax.nam import groups, rank


def candidate_scores(cands: np.ndarray, truth_hr: np.ndarray) -> dict[str, np.ndarray]:
  """Per candidate [I, S]: identity distance, NME, LPIPS and skin-tone (ITA) error to the
  truth, and descriptors; per input, the truth's ITA (ita_truth [I])."""
  n, s = cands.shape[:2]
  truths = [faces.truth(t) for t in truth_hr]
  cmp = [[faces.compare(c, t) for c in cs] for cs, t in zip(cands, truths)]
  lp = lpips.lpips(images.as_float(cands.reshape((n * s,) + cands.shape[2:])),
                   np.repeat(images.as_float(truth_hr), s, axis=0)).reshape(n, s)
  truth_ita = np.array([skin.ita(h, t.points) for h, t in zip(truth_hr, truths)])
  ita = np.array([[skin.ita(c, f['points']) for c, f in zip(cs, row)]
                  for cs, row in zip(images.as_uint8(cands), cmp)])
  return {'identity': np.array([[c['identity'] for c in row] for row in cmp]),
          'nme': np.array([[c['nme'] for c in row] for row in cmp]),
          'lpips': lp, 'descriptors': groups.descriptors(cands),
          'ita_error': np.abs(ita - truth_ita[:, None]), 'ita_truth': truth_ita}


def rankings(loss: np.ndarray, desc: np.ndarray) -> dict[str, np.ndarray]:
  """{name: top candidate index [I]} of every ranking, for candidates' LR L1 [I, S] and
  descriptors [I, S, 128]."""
  k = loss.shape[1]
  dist = np.linalg.norm(desc[:, :, None] - desc[:, None], axis=-1)
  out = {'lr_l1': loss.argmin(1), 'consensus': rank.consensus(desc).argmin(1)}
  for m in sorted({max(2, k // 4), max(2, k // 2)}):
    best = np.argsort(loss, 1)[:, :m]
    sub = np.take_along_axis(dist, best[:, :, None], 1)
    sub = np.take_along_axis(sub, best[:, None, :], 2).sum(-1)
    out[f'consensus of best {m}'] = np.take_along_axis(best, sub.argmin(1)[:, None], 1)[:, 0]
  out['most neighbours'] = ((dist < faces.SAME_PERSON).sum(-1) - loss / (loss.max() + 1)
                            ).argmax(1)
  for w in (0.5, 1.0):
    out[f'lr_l1 + {w} consensus'] = rank.scores(loss, desc, 'blend', w).argmin(1)
  return out


def table(loss: np.ndarray, scores: dict[str, np.ndarray]) -> str:
  """Markdown: one block of rows per k (first k seeds)."""
  s = loss.shape[1]
  rows = ['| seeds | ranking | top keeps identity | identity dist | LPIPS | NME | LR L1 |',
          '| --- | --- | --- | --- | --- | --- | --- |']
  idx = np.arange(loss.shape[0])
  ks = [k for k in (4, 8, 16, 32, 64) if k < s] + [s]
  for k in ks:
    sub = {name: v[:, :k] for name, v in scores.items()
           if name != 'descriptors' and np.ndim(v) == 2}
    picks = rankings(loss[:, :k], scores['descriptors'][:, :k])
    picks['oracle (identity ceiling)'] = sub['identity'].argmin(1)
    for name, pick in picks.items():
      rows.append(f'| {k} | {name} | {np.mean(sub["identity"][idx, pick] < faces.SAME_PERSON):.0%}'
                  f' | {sub["identity"][idx, pick].mean():.3f} | {sub["lpips"][idx, pick].mean():.3f}'
                  f' | {sub["nme"][idx, pick].mean():.3f} | {loss[idx, pick][:, None].mean():.4f} |')
  return '\n'.join(rows)


def run(nam_cfg, set_name: str, degradation: str, seeds: int, overrides: str,
        out_dir: pathlib.Path) -> pathlib.Path:
  """SR-NAM (a config's `nam` section) on a real-face set with every candidate kept
  (out_dir/NAME.npz, reused when it exists), then the ranking table (out_dir/NAME.md)."""
  from nam_jax.data import real_faces
  from nam_jax.nam import models, settings
  name = f'ranking_{set_name}_{degradation}_{seeds}' + (
      '_' + overrides.replace('=', '').replace(',', '_') if overrides else '')
  npz = out_dir / f'{name}.npz'
  rf = real_faces.load()
  lr = rf.lr[set_name.removeprefix('real_')]
  if not npz.is_file():
    job = settings.from_config(nam_cfg, {
        'degradation': degradation, 'seeds': seeds, **settings.parse_overrides(overrides)},
        base_dir=pathlib.Path(__file__).resolve().parents[2])
    r = models.super_resolve(models.load_model(job), lr, job)
    out_dir.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(npz, hr=images.as_uint8(r['hr']), loss=r['loss'],
                        seconds=r['seconds'])
  z = np.load(npz)
  scores = candidate_scores(z['hr'], rf.hr)
  text = table(z['loss'], scores)
  (out_dir / f'{name}.md').write_text(text + '\n')
  print(text)
  return out_dir / f'{name}.md'


if __name__ == '__main__':
  from absl import flags
  from nam_jax import cli
  _SET = flags.DEFINE_string('set', 'real_camera', 'Real-face set (nam_jax/data/real_faces.py).')
  _DEGRADATION = flags.DEFINE_string('degradation', 'camera', 'Degradation the search inverts.')
  _SEEDS = flags.DEFINE_integer('seeds', 16, 'Candidates per face.')
  _SETTINGS = flags.DEFINE_string('settings', '', 'Inference settings, key=value,...')
  _OUT = flags.DEFINE_string('out', 'docs', 'Folder of the table and the candidates.')
  _CONFIG = cli.define_config(str(pathlib.Path(__file__).resolve().parents[2] / 'configs'
                                  / 'cpu.py'))
  cli.run(lambda argv: run(cli.config(_CONFIG).nam, _SET.value, _DEGRADATION.value,
                           _SEEDS.value, _SETTINGS.value, pathlib.Path(_OUT.value)))
