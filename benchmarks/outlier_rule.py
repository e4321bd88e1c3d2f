"""How candidates that fit far worse than their input's best compare with the rest, per ratio:
the measurement behind nam_jax/nam/consistency.py's OUTLIER_RATIO.

  python benchmarks/outlier_rule.py --raw=runs/i38/all31/raw/eval_real_bicubic.npz,runs/i38/all31/raw/eval_real_defocus.npz

--raw: evaluate.py's raw candidates (OUT/raw/eval_SET.npz) with an SR-NAM method. For each ratio:
the share of candidates over it (LR L1 > ratio x their input's best), how often those and the
rest keep the person (dlib distance < 0.6 to the true face), their mean LPIPS, and how many
inputs would have no identity-keeping candidate left among the rest.
"""

import numpy as np
from absl import flags, logging

from nam_jax import cli

_RAW = flags.DEFINE_list('raw', [], 'Raw candidate files of evaluate.py.')
_RATIOS = flags.DEFINE_list('ratios', ['1.25', '1.5', '1.75', '2.0'], 'Ratios to the best.')


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)
  from nam_jax import faces, images
  from nam_jax.eval import lpips, runs
  if not _RAW.value:
    cli.fail('--raw: give at least one OUT/raw/eval_SET.npz')
  for path in _RAW.value:
    with np.load(path) as z:
      method = runs.sr_nam_key(z['methods'])
      cands, l1, hr = z[f'{method}/candidates'], z[f'{method}/lr_l1'], z['hr']
    n, k = l1.shape
    truths = [faces.truth(h) for h in hr]
    kept = np.array([[faces.compare(cands[i, j], truths[i])['identity'] < faces.SAME_PERSON
                      for j in range(k)] for i in range(n)])
    lp = lpips.lpips(images.as_float(cands.reshape((n * k,) + cands.shape[2:])),
                     np.repeat(images.as_float(hr), k, axis=0)).reshape(n, k)
    ratio = l1 / l1.min(axis=1, keepdims=True)
    print(f'{path}: {n} inputs x {k} candidates; ratio to the best, percentiles 50/90/99: '
          f'{np.percentile(ratio, [50, 90, 99]).round(2).tolist()}')
    for r in map(float, _RATIOS.value):
      over = ratio > r
      lost = int(np.sum(kept.any(1) & ~(kept & ~over).any(1)))
      share = lambda x, m: f'{x[m].mean():.1%}' if m.any() else '-'
      print(f'  > {r}: {over.mean():.1%} of candidates; identity kept {share(kept, over)} '
            f'vs {share(kept, ~over)}; LPIPS {lp[over].mean() if over.any() else np.nan:.3f} '
            f'vs {lp[~over].mean():.3f}; inputs left with no kept candidate: {lost}')


if __name__ == '__main__':
  cli.run(main)
