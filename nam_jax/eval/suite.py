"""The evaluation suite: SR-NAM and the baselines on one test set with HR truth, scored with
the metrics the seed papers name.

A method maps LR faces [N, 16, 16, 3] to candidates [N, S, 64, 64, 3] (S = 1 for the
deterministic baselines) ranked best first by the method itself (SR-NAM: final LR L1); a
method that fits the input through a degradation (SR-NAM) also returns, per input, its top
candidate's LR L1 and the reach of its degradation (nam_jax/eval/reach.py). Per method:
  reach          LR L1 the method's degradation reaches with the TRUE face (min over its free
                 inputs): whether the truth can explain the input at all
  lr_l1          L1 (images in [-1, 1]) between the input and the top candidate degraded by
                 the method's own degradation with its fitted free inputs
  psnr/ssim      of the top candidate, the oracle best of S (by PSNR) and the mean over S
  lpips          AlexNet LPIPS of the top candidate to the truth; lpips_oracle (best of S)
  diversity      mean pairwise LPIPS among one input's candidates (0 for one output)
  heatmap, nme   SR-NAM eq. 7 and landmark NME of the top candidate (nam_jax/faces.py)
  identity       dlib descriptor distance of the top candidate to the truth; identity_kept =
                 share of inputs with distance < 0.6; identity_kept_oracle = share with ANY
                 candidate < 0.6; identity_kept_group = share whose truth lies within 0.6 of
                 the mean descriptor of some group of candidates (nam_jax/nam/groups.py)
  spread_coverage, spread_error_corr   calibration of the disagreement map (S > 1,
                 nam_jax/nam/disagreement.py): share of true pixel values inside the candidates'
                 range; rank correlation of the map with the top candidate's pixel error
  frechet_vgg16  Frechet VGG16 distance of the top candidates to reference HR faces (only with
                 at least 50 inputs; not FID)
  ita_error      skin tone: |ITA of the top candidate - ITA of the truth| (degrees, cheeks
                 placed by landmarks; nam_jax/skin.py; faces with no colour left out);
                 ita_coverage: share of inputs whose true ITA lies in the candidates' range;
                 ita_range: that range's width; ita_input_error: the top candidate's ITA
                 against the input's own cheeks (no truth needed). `bands`: per ITA band of
                 the truth, the ITA error, coverage and identity kept (top / any / group)
  artefacts      chroma high-frequency RMS of the top candidate (nam_jax/artefacts.py; lower
                 is cleaner); artefacts_mean over all candidates
  per_face       the per-input figures behind the means
  seconds        wall time per input
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from typing import Callable

import numpy as np

from nam_jax import artefacts, faces, images, skin
from nam_jax.eval import frechet, lpips, metrics
from nam_jax.nam import disagreement

FRECHET_MIN = 50


@dataclasses.dataclass(frozen=True)
class Method:
  """run: uint8 LR [N, 16, 16, 3] -> float candidates [N, S, 64, 64, 3], ranked; or
  (candidates, {'lr_l1': [N], 'reach': [N], ...}) for a method that fits a degradation."""

  name: str
  run: Callable[[np.ndarray], np.ndarray | tuple[np.ndarray, dict]]


@dataclasses.dataclass(frozen=True)
class TestSet:
  name: str
  lr_images: np.ndarray      # uint8 [N, s, s, 3] (16 px unless made at another size)
  hr: np.ndarray             # uint8 [N, 64, 64, 3]
  names: tuple[str, ...]


def diversity(cands: np.ndarray) -> float:
  """Mean pairwise LPIPS among candidates [S, 64, 64, 3]; 0 for one candidate."""
  pairs = list(itertools.combinations(range(len(cands)), 2))
  if not pairs:
    return 0.0
  a = np.stack([cands[i] for i, _ in pairs])
  b = np.stack([cands[j] for _, j in pairs])
  return float(np.mean(lpips.lpips(a, b)))


def group_hits(cands: np.ndarray, truths: list) -> np.ndarray:
  """Per input [N] bool: whether its true identity lies within dlib's same-person distance
  of the mean descriptor of one of the groups its ranked candidates [N, S, 64, 64, 3] form."""
  from nam_jax.nam import groups
  desc = groups.descriptors(cands)
  hits = []
  for d, t in zip(desc, truths):
    found = groups.cluster(d, np.arange(len(d)))
    hits.append(groups.nearest_group(d, found, t.descriptor)[1] < faces.SAME_PERSON)
  return np.array(hits)


def tone_figures(cands: np.ndarray, cmp: list, truth_ita: np.ndarray,
                 lr_images: np.ndarray) -> dict[str, np.ndarray]:
  """Per input: skin tone (ITA, nam_jax/skin.py) of the top candidate and its error to the
  truth's, whether the truth lies in the candidates' ITA range (coverage) and that range's
  width, and, with no truth, the top candidate's ITA error to the input's own cheeks."""
  ita = np.array([[skin.ita(c, f['points']) for c, f in zip(cs, row)]
                  for cs, row in zip(images.as_uint8(cands), cmp)])
  finite = np.isfinite(ita)
  low = np.where(finite.any(1), np.nanmin(np.where(finite, ita, np.inf), 1), np.nan)
  high = np.where(finite.any(1), np.nanmax(np.where(finite, ita, -np.inf), 1), np.nan)
  inputs = np.array([skin.input_tone(x, row[0]['points'])['ita']
                     for x, row in zip(lr_images, cmp)])
  with np.errstate(invalid='ignore'):
    covered = np.where(np.isfinite(truth_ita) & np.isfinite(low),
                       (truth_ita >= low - 1e-9) & (truth_ita <= high + 1e-9), np.nan)
  return {'ita': ita[:, 0],
          'ita_error': np.array([skin.angle_error(a, t) for a, t in zip(ita[:, 0], truth_ita)]),
          'ita_coverage': covered, 'ita_range': high - low,
          'ita_input_error': np.array([skin.angle_error(a, i)
                                       for a, i in zip(ita[:, 0], inputs)])}


def score(cands: np.ndarray, test: TestSet, truths: list, fit: dict,
          reference_hr: np.ndarray | None, seconds: float,
          truth_ita: np.ndarray | None = None) -> dict:
  """All metrics of one method's ranked candidates [N, S, 64, 64, 3] (float [-1, 1]) and
  its per-input fit figures (`fit`: lr_l1, reach; empty for methods without a degradation).
  `per_face` holds the per-input figures; `bands` the skin-tone band table."""
  n, s = cands.shape[:2]
  top = cands[:, 0]
  psnr = np.array([[metrics.psnr(c, h) for c in cs] for cs, h in zip(cands, test.hr)])
  ssim_top = [metrics.ssim(t, h) for t, h in zip(top, test.hr)]
  lp = lpips.lpips(cands.reshape((n * s,) + cands.shape[2:]),
                   np.repeat(images.as_float(test.hr), s, axis=0)).reshape(n, s)
  cmp = [[faces.compare(images.as_uint8(c), tr) for c in cs] for cs, tr in zip(cands, truths)]
  face = [row[0] for row in cmp]
  ident_all = np.array([[f['identity'] for f in row] for row in cmp])
  if truth_ita is None:
    truth_ita = np.array([skin.ita(h, t.points) for h, t in zip(test.hr, truths)])
  tone = tone_figures(cands, cmp, truth_ita, test.lr_images)
  art = artefacts.scores(cands)
  kept = ident_all[:, 0] < faces.SAME_PERSON
  kept_any = ident_all.min(1) < faces.SAME_PERSON
  kept_group = group_hits(cands, truths) if s > 1 else kept
  out = {
      'inputs': int(n), 'candidates': int(s),
      **{k: float(np.mean(v)) for k, v in fit.items() if not k.startswith('_')},
      'psnr': float(psnr[:, 0].mean()), 'psnr_oracle': float(psnr.max(1).mean()),
      'psnr_mean': float(psnr.mean()), 'ssim': float(np.mean(ssim_top)),
      'lpips': float(lp[:, 0].mean()), 'lpips_oracle': float(lp.min(1).mean()),
      # Any candidate at random: what the method's ranking gains over no ranking.
      'lpips_mean': float(lp.mean()),
      'diversity': float(np.mean([diversity(c) for c in cands])),
      'heatmap': float(np.mean([f['heatmap'] for f in face])),
      'nme': float(np.mean([f['nme'] for f in face])),
      'identity': float(np.mean([f['identity'] for f in face])),
      'identity_kept': float(np.mean(kept)),
      'identity_kept_oracle': float(np.mean(kept_any)),
      'identity_kept_group': float(np.mean(kept_group)),
      'ita_error': float(np.nanmean(tone['ita_error'])),
      'ita_coverage': float(np.nanmean(tone['ita_coverage'])),
      'ita_range': float(np.nanmean(tone['ita_range'])),
      'ita_input_error': float(np.nanmean(tone['ita_input_error'])),
      'artefacts': float(art[:, 0].mean()), 'artefacts_mean': float(art.mean()),
      'seconds': seconds / n,
  }
  per_face = {'ita_truth': truth_ita, **tone, 'identity': ident_all[:, 0],
              'identity_kept': kept, 'identity_kept_oracle': kept_any,
              'identity_kept_group': kept_group, 'lpips': lp[:, 0],
              'nme': np.array([f['nme'] for f in face]), 'artefacts': art[:, 0]}
  out['per_face'] = {k: [None if not np.isfinite(v) else float(v)
                         for v in np.asarray(a, np.float64)] for k, a in per_face.items()}
  out['bands'] = skin.band_table(truth_ita, {
      k: per_face[k] for k in ('ita_error', 'ita_coverage', 'identity_kept',
                               'identity_kept_oracle', 'identity_kept_group')})
  if s > 1:
    out.update(disagreement.calibration(cands, images.as_float(test.hr)))
  if reference_hr is not None and n >= FRECHET_MIN:
    out['frechet_vgg16'] = frechet.frechet_vgg16_distance(images.as_uint8(top), reference_hr)
  return out


def evaluate(methods: list[Method], test: TestSet, reference_hr: np.ndarray | None = None,
             on_result=None, raw: dict | None = None) -> tuple[dict, dict]:
  """({method: metrics}, {method: ranked candidates}) on one test set. `raw`, if given, is
  filled with {method: {'candidates': uint8 [N, S, 64, 64, 3], and each per-candidate '_'
  figure of the method's fit}} for studies that re-rank without searching again."""
  truths = [faces.truth(h) for h in test.hr]
  truth_ita = np.array([skin.ita(h, t.points) for h, t in zip(test.hr, truths)])
  results, outputs = {}, {}
  for m in methods:
    t0 = time.perf_counter()
    out = m.run(test.lr_images)
    seconds = time.perf_counter() - t0
    cands, fit = out if isinstance(out, tuple) else (out, {})
    cands = np.asarray(cands, np.float32)
    if cands.ndim != 5 or cands.shape[0] != len(test.hr):
      raise ValueError(f'{m.name}: expected candidates [N, S, 64, 64, 3], got {cands.shape}')
    outputs[m.name] = cands
    if raw is not None:
      raw[m.name] = {'candidates': images.as_uint8(cands),
                     **{k.lstrip('_'): np.asarray(v) for k, v in fit.items()
                        if k.startswith('_')}}
    results[m.name] = score(cands, test, truths, fit, reference_hr, seconds, truth_ita)
    results[m.name]['face_boxes_detected'] = float(np.mean([t.detected for t in truths]))
    if on_result:
      on_result(m.name, results[m.name])
  return results, outputs


COLUMNS = (('reach', 'reach', '.4f'), ('lr_l1', 'LR L1', '.4f'), ('psnr', 'PSNR', '.2f'), ('ssim', 'SSIM', '.3f'),
           ('psnr_oracle', 'PSNR oracle', '.2f'), ('lpips', 'LPIPS', '.3f'),
           ('lpips_oracle', 'LPIPS oracle', '.3f'), ('lpips_mean', 'LPIPS mean', '.3f'),
           ('diversity', 'diversity', '.3f'),
           ('heatmap', 'heatmap (eq. 7)', '.2f'), ('nme', 'NME', '.3f'),
           ('identity', 'identity dist', '.3f'), ('identity_kept', 'kept < 0.6', '.0%'),
           ('identity_kept_oracle', 'kept, any cand.', '.0%'),
           ('identity_kept_group', 'kept, a group', '.0%'),
           ('ita_error', 'ITA error (deg)', '.1f'), ('ita_coverage', 'ITA: truth in range', '.0%'),
           ('ita_input_error', 'ITA to input (deg)', '.1f'), ('artefacts', 'artefacts', '.2f'),
           ('spread_coverage', 'truth in spread', '.0%'),
           ('spread_error_corr', 'spread ~ error', '.2f'),
           ('frechet_vgg16', 'Frechet VGG16', '.1f'), ('seconds', 's / input', '.2f'))


def markdown_table(results: dict) -> str:
  head = '| method | ' + ' | '.join(c[1] for c in COLUMNS) + ' |'
  rule = '| --- |' + ' --- |' * len(COLUMNS)
  rows = [f'| {name} | ' + ' | '.join(format(r[k], f) if k in r else '-'
                                      for k, _, f in COLUMNS) + ' |'
          for name, r in results.items()]
  return '\n'.join([head, rule] + rows)


BAND_COLUMNS = (('faces', 'faces', 'd'), ('ita_error', 'ITA error (deg)', '.1f'),
                ('ita_coverage', 'truth in ITA range', '.0%'),
                ('identity_kept', 'kept: top', '.0%'), ('identity_kept_oracle', 'any', '.0%'),
                ('identity_kept_group', 'a group', '.0%'))


def band_markdown(results: dict) -> str:
  """Per method and skin-tone band of the truth: ITA error, coverage, identity kept."""
  head = '| method | band | ' + ' | '.join(c[1] for c in BAND_COLUMNS) + ' |'
  rows = [head, '| --- | --- |' + ' --- |' * len(BAND_COLUMNS)]
  for name, r in results.items():
    for band, row in r.get('bands', {}).items():
      rows.append(f'| {name} | {band} | ' + ' | '.join(
          '-' if k not in row or not np.isfinite(row[k]) else format(row[k], f)
          for k, _, f in BAND_COLUMNS) + ' |')
  return '\n'.join(rows)


def comparison_grid(test: TestSet, outputs: dict, faces_shown: int = 8, extra: int = 3
                    ) -> np.ndarray:
  """One row per face: LR | each method's top candidate (and SR-NAM's next ones) | truth."""
  rows = []
  for i in range(min(faces_shown, len(test.hr))):
    row = [test.lr_images[i]]
    for cands in outputs.values():
      row += list(cands[i, :1 + (extra if cands.shape[1] > 1 else 0)])
    rows.append(row + [test.hr[i]])
  return images.grid(rows)
