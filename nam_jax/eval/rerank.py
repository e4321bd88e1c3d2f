"""Rankings re-scored offline on the candidates an evaluation kept (evaluate.py writes every
candidate and its LR L1 to OUT/raw/eval_SET.npz): which candidate should come first?

For every candidate, once per file (cached beside it as eval_SET.figures.npz): its identity
distance, NME, LPIPS and skin-tone (ITA) error to the truth, and the figures a ranking may
use without the truth (dlib descriptors, the enlarged input's descriptor, the artefact
score). Then, for each ranking (nam_jax/nam/rank.py weights), the top candidate's identity
kept, ITA error, LPIPS and NME, per set.

  python -m nam_jax.eval.rerank --raw=runs/i38/base/raw/eval_real_defocus.npz,...
"""

from __future__ import annotations

import itertools
import pathlib

import numpy as np

from nam_jax import artefacts, faces, skin
from nam_jax.eval import ranking
from nam_jax.nam import rank, tone


def figures(npz: pathlib.Path, method: int = -1) -> dict[str, np.ndarray]:
  """Per candidate [I, S] truth and ranking figures of method `method` (index into the
  file's methods; default the last) of one raw file, cached beside it."""
  cache = npz.with_name(npz.stem + f'.figures{method}.v3.npz')
  if cache.is_file() and cache.stat().st_mtime >= npz.stat().st_mtime:
    with np.load(cache) as z:
      return dict(z)
  with np.load(npz) as z:
    names = list(z['methods'])
    key = f'm{method % len(names)}'
    cands, loss, lr, hr = z[f'{key}/candidates'], z[f'{key}/lr_l1'], z['lr'], z['hr']
  out = {'loss': loss, **ranking.candidate_scores(cands, hr),
         'tone_gap': tone.tone_gaps(lr, cands),  # As infer.py measures it (no truth).
         'input_descriptors': rank.input_descriptors(lr),
         'artefacts': artefacts.scores(cands)}
  np.savez(cache, **out)
  return out


def top_figures(f: dict, order_scores: np.ndarray) -> dict:
  """The top candidate's figures under ranking scores [I, S] (lower first), with identity
  kept by any candidate, and per skin-tone band of the truth (nam_jax/skin.py)."""
  top = np.argmin(order_scores, axis=1)
  pick = lambda a: a[np.arange(len(top)), top]
  kept = pick(f['identity']) < faces.SAME_PERSON
  kept_any = f['identity'].min(1) < faces.SAME_PERSON
  return {'kept': float(np.mean(kept)), 'kept_any': float(np.mean(kept_any)),
          'ita_error': float(np.nanmean(pick(f['ita_error']))),
          'lpips': float(np.mean(pick(f['lpips']))), 'nme': float(np.mean(pick(f['nme']))),
          'artefacts': float(np.mean(pick(f['artefacts']))),
          'bands': skin.band_table(f['ita_truth'], {
              'ita_error': pick(f['ita_error']), 'identity_kept': kept,
              'identity_kept_oracle': kept_any})}


def candidate_rankings(f: dict, grid: bool = True, weights: dict | None = None
                       ) -> dict[str, np.ndarray]:
  """{name: scores [I, S]}: fit, blend, the input ranking's default, the input ranking under
  each of `weights` ({name: {term: weight}}) and, with `grid`, a grid of its weights (input,
  consensus, artefacts, tone gap)."""
  figs = rank.terms(f['descriptors'], f['input_descriptors'], f['artefacts'],
                    tone_gaps=f['tone_gap'])
  out = {'fit': np.where(np.isfinite(f['loss']), f['loss'], np.inf),
         'blend': rank.weighted(f['loss'], figs, {'consensus': rank.CONSENSUS_WEIGHT}),
         'input (default)': rank.weighted(f['loss'], figs, rank.INPUT_WEIGHTS),
         'oracle (identity)': f['identity']}
  for name, w in (weights or {}).items():
    out[name] = rank.weighted(f['loss'], figs, w)
  if grid:
    for wi, wc, wa, wt in itertools.product((0.0, 0.5, 1.0, 2.0), (0.0, 0.5), (0.0, 0.5),
                                            (0.0, 0.5)):
      weights = {'input': wi, 'consensus': wc, 'artefacts': wa, 'tone': wt}
      out['input ' + ' '.join(f'{k}={v}' for k, v in weights.items())] = rank.weighted(
          f['loss'], figs, weights)
  return out


def study(paths: list[pathlib.Path], grid: bool = True, weights: dict | None = None
          ) -> dict[str, dict[str, dict]]:
  """{ranking: {set: top figures}} over raw files."""
  out: dict[str, dict] = {}
  for path in paths:
    f = figures(path)
    for name, sc in candidate_rankings(f, grid, weights).items():
      out.setdefault(name, {})[path.stem.removeprefix('eval_')] = top_figures(f, sc)
  return out


def markdown(result: dict) -> str:
  sets = list(next(iter(result.values())))
  head = '| ranking | ' + ' | '.join(f'{s}: kept / ITA err / LPIPS / NME' for s in sets) + \
      ' | mean kept |'
  rows = [head, '| --- |' + ' --- |' * (len(sets) + 1)]
  for name, per_set in result.items():
    cells = [f'{r["kept"]:.0%} / {r["ita_error"]:.1f} / {r["lpips"]:.3f} / {r["nme"]:.3f}'
             for r in per_set.values()]
    mean = np.mean([r['kept'] for r in per_set.values()])
    rows.append(f'| {name} | ' + ' | '.join(cells) + f' | {mean:.0%} |')
  return '\n'.join(rows)


def band_markdown(result: dict) -> str:
  """Per ranking and set: the top candidate's ITA error and identity kept per skin-tone band
  of the truth."""
  names = [b[0] for b in skin.BANDS]
  rows = ['| ranking | set | ' + ' | '.join(names) + ' |', '| --- | --- |' + ' --- |' * len(names)]
  for name, per_set in result.items():
    for set_name, r in per_set.items():
      cells = [f'{r["bands"][b]["ita_error"]:.1f} ({r["bands"][b]["identity_kept"]:.0%})'
               if b in r['bands'] else '-' for b in names]
      rows.append(f'| {name} | {set_name} | ' + ' | '.join(cells) + ' |')
  return '\n'.join(rows)


def parse_weights(specs: list[str]) -> dict[str, dict[str, float]]:
  """'NAME:term=w,...' entries -> {NAME: {term: w}}; terms as rank.INPUT_WEIGHTS names."""
  out = {}
  for spec in specs:
    name, sep, body = spec.partition(':')
    pairs = [item.partition('=') for item in filter(None, body.split(','))]
    bad = [k for k, eq, _ in pairs if not eq or k not in rank.INPUT_WEIGHTS]
    if not sep or not name or bad:
      raise ValueError(f'--weights {spec!r}: want NAME:TERM=W,... with terms from '
                       f'{", ".join(rank.INPUT_WEIGHTS)}')
    out[name] = {k: float(v) for k, _, v in pairs}
  return out


def main(argv):
  del argv
  from absl import flags
  from nam_jax import cli, files
  paths = [pathlib.Path(p) for p in flags.FLAGS.raw]
  missing = [str(p) for p in paths if not p.is_file()]
  if not paths or missing:
    cli.fail(f'--raw: no such file: {", ".join(missing) or "(none given)"}')
  try:
    weights = parse_weights(flags.FLAGS.weights)
  except ValueError as e:
    cli.fail(str(e))
  result = study(paths, flags.FLAGS.grid, weights)
  text = markdown(result) + '\n\n' + band_markdown(result)
  print(text)
  if flags.FLAGS.out:
    out = pathlib.Path(flags.FLAGS.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix('.md').write_text(text + '\n')
    files.write_json(out.with_suffix('.json'), result)


if __name__ == '__main__':
  from absl import flags as _flags
  from nam_jax import cli as _cli
  _flags.DEFINE_list('raw', [], 'OUT/raw/eval_SET.npz files written by evaluate.py.')
  _flags.DEFINE_bool('grid', True, 'Also a grid of the input ranking\'s weights.')
  _flags.DEFINE_multi_string('weights', [], 'NAME:TERM=W,...: also the input ranking with '
                              'these weights (terms: input, consensus, artefacts, tone).')
  _flags.DEFINE_string('out', '', 'Write OUT.md and OUT.json (the table and the figures).')
  _cli.run(main)
