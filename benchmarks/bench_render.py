"""The answer at the output size: the searched 64 px candidates against their renders through
the full StyleGAN synthesis, raw and fitted below each band, on real faces; the search's and
the render's time side by side in one run.

  python benchmarks/bench_render.py --sets=real_bicubic,real_phone --faces=8 --size=256 \
      --out=docs/bench_render.json --grid=docs/figures/render_fit

For each set: each input's degradation is chosen as infer.py's default chooses it (auto), its
16 candidates are searched once at 64 px (timed), then rendered at --size once per band of
--bands (timed; 0 = the raw render, nam_jax/nam/render.py). Every variant is ranked as infer.py
ranks the search and scored by the evaluation suite at 64 px (the render reduced): LPIPS,
NME, identity kept (top / any), ITA error, artefacts; beside it the mean over candidates of the
render's LR L1 and its PSNR against the searched candidate. With --grid, per set a PNG of the
first faces: the LR input, the searched top candidate enlarged, its render raw and per band.
"""

import json
import pathlib
import time

import numpy as np
from absl import flags, logging

from nam_jax import cli

REPO = pathlib.Path(__file__).resolve().parents[1]
_CONFIG = cli.define_config(str(REPO / 'configs' / 'cpu.py'))
_SETS = flags.DEFINE_list('sets', ['real_bicubic', 'real_phone'], 'Real-face test sets.')
_FACES = flags.DEFINE_integer('faces', 8, 'The first faces of each set.')
_SEEDS = flags.DEFINE_integer('seeds', 16, 'Candidates per face.')
_SIZE = flags.DEFINE_integer('size', 256, 'Render size.')
_BANDS = flags.DEFINE_list('bands', ['0', '16', '32', '64'], 'Bands the render is fitted below.')
_OUT = flags.DEFINE_string('out', '', 'JSON written here (also printed).')
_GRID = flags.DEFINE_string('grid', '', 'Path prefix of the per-set grids (PNG).')


def _search(model, job, lr):
  """(result with noise per input, degradation per input, seconds): the default's search."""
  from nam_jax.nam import chunks, models
  if not isinstance(model, models.AutoModel):
    t0 = time.perf_counter()
    r = chunks.super_resolve(model, lr, job)
    return [(np.arange(len(lr)), model, r)], time.perf_counter() - t0
  chosen = np.array(model.chooser.choose(model.chooser_weights, lr, model.choices))
  parts = []
  t0 = time.perf_counter()
  for name in model.choices:
    sel = np.nonzero(chosen == name)[0]
    if len(sel):
      parts.append((sel, model.models[name],
                    chunks.super_resolve(model.models[name], lr[sel], job.for_degradation(name))))
  return parts, time.perf_counter() - t0


def _merge(parts, key, n):
  out = None
  for sel, _, r in parts:
    v = np.asarray(r[key])
    if out is None:
      out = np.zeros((n,) + v.shape[1:], v.dtype)
    out[sel] = v
  return out


def _grid(path, lr, variants, names):
  from PIL import Image
  from nam_jax import images
  size = variants[-1].shape[2]
  rows = []
  for i in range(min(6, len(lr))):
    row = [images.upscale(images.as_uint8(lr[i:i + 1]), size)[0]]
    for v in variants:
      row.append(np.asarray(Image.fromarray(images.as_uint8(v[i, 0])).resize(
          (size, size), Image.BICUBIC)))
    rows.append(np.concatenate(row, 1))
  path.parent.mkdir(parents=True, exist_ok=True)
  Image.fromarray(np.concatenate(rows, 0)).save(path)
  print(f'wrote {path} (columns: LR input, {", ".join(names)})')


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)
  from nam_jax import devices
  devices.configure_host_cpu_or_exit(ynnpack=True)
  from nam_jax import faces, images, skin
  from nam_jax.eval import runs, suite
  from nam_jax.nam import models, render, settings
  config = cli.config(_CONFIG)
  job = settings.from_config(config.nam, {'seeds': _SEEDS.value, 'progress': False,
                                          'size': 64}, base_dir=REPO)
  model = models.load_model(job)
  out = {'faces': _FACES.value, 'seeds': _SEEDS.value, 'size': _SIZE.value, 'sets': {}}
  for set_name in _SETS.value:
    t = runs.test_set(set_name, config)
    n = min(_FACES.value, len(t.hr))
    test = suite.TestSet(set_name, t.lr_images[:n], t.hr[:n], t.names[:n])
    lr = images.as_float(test.lr_images)
    parts, search_s = _search(model, job, lr)
    searched = {k: _merge(parts, k, n) for k in ('hr', 'loss')}
    order = runs.ranking(job, searched, lr)
    ranked = lambda x: np.take_along_axis(x, order.reshape(order.shape + (1,) * (x.ndim - 2)),
                                          axis=1)
    truths = [faces.truth(h) for h in test.hr]
    truth_ita = np.array([skin.ita(h, tr.points) for h, tr in zip(test.hr, truths)])
    rows = {'searched': suite.score(ranked(searched['hr']), test, truths,
                                    {'lr_l1_mean': searched['loss']}, None, search_s,
                                    truth_ita)}
    variants, names = [ranked(searched['hr'])], ['searched']
    for band in map(int, _BANDS.value):
      t0 = time.perf_counter()
      rendered = [(sel, render.render_large(m, r, lr[sel], _SIZE.value, band))
                  for sel, m, r in parts]
      render_s = time.perf_counter() - t0
      big = _merge([(sel, None, r) for sel, r in rendered], 'hr_large', n)
      result = {'hr_large': big}
      shown = runs.shown(result)
      fit = {k: _merge([(sel, None, r) for sel, r in rendered], k, n)
             for k in ('render_lr_l1', 'render_psnr')}
      name = f'band{band}' if band else 'raw'
      rows[name] = suite.score(ranked(shown), test, truths,
                               {'lr_l1_mean': fit['render_lr_l1'],
                                'psnr_vs_searched': fit['render_psnr']}, None, render_s,
                               truth_ita)
      variants.append(ranked(big.astype(np.float32) / 127.5 - 1.0))
      names.append(name)
    for row in rows.values():
      row.pop('per_face', None)
    out['sets'][set_name] = {'search_s_per_face': search_s / n, 'rows': rows}
    print(set_name, json.dumps({k: {m: v[m] for m in (
        'lr_l1_mean', 'psnr_vs_searched', 'lpips', 'lpips_mean', 'nme', 'identity_kept',
        'identity_kept_oracle', 'ita_error', 'artefacts', 'seconds') if m in v}
        for k, v in rows.items()}), flush=True)
    if _GRID.value:
      _grid(pathlib.Path(f'{_GRID.value}_{set_name}.png'), lr, variants, names)
  if _OUT.value:
    pathlib.Path(_OUT.value).write_text(json.dumps(out, indent=1))
    print(f'wrote {_OUT.value}')


if __name__ == '__main__':
  cli.run(main)
