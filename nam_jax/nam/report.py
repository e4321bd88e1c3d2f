"""What infer.py writes: per input a grid and every candidate as PNG, and results.json."""

from __future__ import annotations

import json
import os
import pathlib

import numpy as np

from nam_jax import images
from nam_jax.nam.inputs import Inputs


def write(out_dir: str | pathlib.Path, inputs: Inputs, result: dict, settings: dict
          ) -> pathlib.Path:
  """Writes DIR/<name>/{grid.png, input_lr.png, cand_RR_seedSS.png} and DIR/results.json.

  Candidates are ranked by final LR L1, best first. The grid's first row is the LR input
  followed by the HR candidates, its second row the input again and each candidate's
  re-degraded LR image (as in SR-NAM Fig. 6-7); a third row shows the true HR face when known.
  """
  out_dir = pathlib.Path(out_dir)
  entries = []
  for i, name in enumerate(inputs.names):
    order = np.argsort(result['loss'][i], kind='stable')
    folder = out_dir / name
    images.save_png(folder / 'input_lr.png', inputs.lr_images[i])
    cands = []
    for rank, s in enumerate(order):
      path = folder / f'cand_{rank:02d}_seed{int(s):02d}.png'
      images.save_png(path, result['hr'][i, s])
      cands.append({'rank': rank, 'seed': int(s), 'hr_path': str(path.relative_to(out_dir)),
                    'lr_l1': float(result['loss'][i, s]),
                    'lr_l1_first_step': float(result['history'][i, s, 0])})
    rows = [[inputs.lr_images[i]] + [result['hr'][i, s] for s in order],
            [inputs.lr_images[i]] + [result['lr'][i, s] for s in order]]
    if inputs.hr_truth is not None:
      rows.append([inputs.hr_truth[i]])
    images.save_png(folder / 'grid.png', images.grid(rows))
    entries.append({'name': name, 'source': inputs.sources[i],
                    'grid': str((folder / 'grid.png').relative_to(out_dir)),
                    'candidates': cands})
  summary = {'settings': settings, 'seconds': result['seconds'],
             'num_inputs': len(inputs.names), 'skipped': inputs.skipped, 'inputs': entries}
  path = out_dir / 'results.json'
  write_json(path, summary)
  return path


def write_json(path: str | pathlib.Path, data) -> None:
  """Writes JSON atomically (temp file + rename): a crash never leaves half a file."""
  path = pathlib.Path(path)
  tmp = path.with_name(path.name + '.tmp')
  tmp.write_text(json.dumps(data, indent=2))
  os.replace(tmp, path)
