"""Skin tone at a glance: per method, the true ITA of each face against the ITA of what the
method returned (its top candidate), over the skin-tone bands, with each SR method's
candidates' range as a bar; and the mean ITA error per band."""

from __future__ import annotations

import pathlib

import numpy as np

from nam_jax import skin


def plot(results: dict, title: str, path: pathlib.Path) -> pathlib.Path:
  """Writes the figure of evaluate.py's results of one set (methods with per_face figures)."""
  import matplotlib
  matplotlib.use('Agg')
  import matplotlib.pyplot as plt

  methods = [m for m, r in results.items() if 'per_face' in r]
  fig, (ax, bars) = plt.subplots(1, 2, figsize=(11, 4.5),
                                 gridspec_kw={'width_ratios': [1.1, 1]})
  seen = np.concatenate([np.array(results[m]['per_face'][k], float) for m in methods
                         for k in ('ita_truth', 'ita')])
  seen = seen[np.isfinite(seen)]
  lo = min(-40.0, float(seen.min()) - 5) if len(seen) else -40.0
  hi = max(100.0, float(seen.max()) + 5) if len(seen) else 100.0
  for name, low, high in skin.BANDS:
    a, b = max(low, lo), min(high, hi)
    ax.axvspan(a, b, color='0.93' if skin.BANDS.index((name, low, high)) % 2 else '0.86',
               lw=0)
    ax.text((a + b) / 2, hi - 4, name, ha='center', va='top', fontsize=7, rotation=90)
  ax.plot([lo, hi], [lo, hi], 'k:', lw=1)
  markers = 'osD^v<>'
  for k, m in enumerate(methods):
    pf = results[m]['per_face']
    truth = np.array(pf['ita_truth'], float)
    top = np.array(pf['ita'], float)
    ok = np.isfinite(truth) & np.isfinite(top)
    ax.scatter(truth[ok], top[ok], s=22, marker=markers[k % len(markers)],
               label=f'{m}: error {results[m]["ita_error"]:.1f} deg')
  ax.set(xlim=(lo, hi), ylim=(lo, hi), xlabel='ITA of the true face (deg)',
         ylabel='ITA of the top candidate (deg)')
  ax.legend(fontsize=7, loc='lower right')
  band_names = [b[0] for b in skin.BANDS if any(b[0] in results[m].get('bands', {})
                                                 for m in methods)]
  width = 0.8 / max(len(methods), 1)
  for k, m in enumerate(methods):
    errs = [results[m]['bands'].get(b, {}).get('ita_error', np.nan) for b in band_names]
    bars.bar(np.arange(len(band_names)) + k * width, errs, width, label=m)
  counts = [results[methods[0]]['bands'].get(b, {}).get('faces', 0) for b in band_names]
  bars.set_xticks(np.arange(len(band_names)) + width * (len(methods) - 1) / 2,
                  [f'{b}\n({c} faces)' for b, c in zip(band_names, counts)], fontsize=8)
  bars.set(ylabel='mean ITA error of the top candidate (deg)')
  bars.legend(fontsize=7)
  fig.suptitle(title)
  fig.tight_layout()
  path.parent.mkdir(parents=True, exist_ok=True)
  fig.savefig(path, dpi=100)
  plt.close(fig)
  return path
