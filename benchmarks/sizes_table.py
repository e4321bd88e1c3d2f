"""Faces at their own size: the real-face figures per LR size, as a markdown table and a figure.

  for s in 16 24 32 64; do
    python evaluate.py --sets=real_bicubic,real_defocus --faces=$(cat docs/skin_tone/faces.txt) \
      --seeds=8 --lr_size=$s --methods=bicubic,sr_nam --out=runs/sizes/s$s --noreach
  done
  python benchmarks/sizes_table.py --runs=runs/sizes --figure=docs/figures/sizes_defocus.png

--runs holds one evaluate.py output folder per size (sS). The figure shows, for the --kind set,
each face's LR input at every size (enlarged, nearest) above SR-NAM's top candidate from it, and
the true face last.
"""

import json
import pathlib

import numpy as np
from absl import flags
from PIL import Image

from nam_jax import cli

_RUNS = flags.DEFINE_string('runs', 'runs/sizes', 'Folder of evaluate.py outputs, one sS per size.')
_SIZES = flags.DEFINE_list('sizes', ['16', '24', '32', '64'], 'LR sizes.')
_KINDS = flags.DEFINE_list('kinds', ['bicubic', 'defocus'], 'Real-face LR kinds.')
_FIGURE = flags.DEFINE_string('figure', '', 'Write the per-size figure here (PNG).')
_KIND = flags.DEFINE_string('kind', 'defocus', 'LR kind the figure shows.')
_FACES = flags.DEFINE_integer('faces', 6, 'Faces in the figure.')


def _fmt(value, spec: str) -> str:
  return '-' if value is None else format(value, spec)


def table(root: pathlib.Path, kinds, sizes) -> str:
  from nam_jax.eval import runs
  lines = ['| LR kind | LR px | method | LR L1 | LPIPS | NME | identity kept: top / any | '
           'ITA error (deg) | artefacts | s per face |', '| --- ' * 10 + '|']
  for kind in kinds:
    for size in sizes:
      path = root / f's{size}' / f"eval_{runs.set_name(f'real_{kind}', size)}.json"
      if not path.exists():
        cli.fail(f'--runs: {path} is missing (run evaluate.py --lr_size={size} first)')
      for method, r in json.loads(path.read_text())['results'].items():
        plain = method == 'bicubic'
        kept = f"{r['identity_kept']:.0%} / " + ('-' if plain else f"{r['identity_kept_oracle']:.0%}")
        lines.append(
            f"| {kind} | {size} | {'bicubic upsampling' if plain else method} | "
            f"{'-' if plain else _fmt(r.get('lr_l1'), '.3f')} | {_fmt(r.get('lpips'), '.3f')} | "
            f"{_fmt(r.get('nme'), '.4f')} | {kept} | {_fmt(r.get('ita_error'), '.1f')} | "
            f"{_fmt(r.get('artefacts'), '.2f')} | {_fmt(r.get('seconds'), '.1f')} |")
  return '\n'.join(lines)


def figure(root: pathlib.Path, kind: str, sizes, faces: int) -> np.ndarray:
  from nam_jax.eval import runs
  columns = []
  for size in sizes:
    with np.load(root / f's{size}' / 'raw' / f"eval_{runs.set_name(f'real_{kind}', size)}.npz") as z:
      lr = z['lr'][:faces]
      top = z[f"{runs.sr_nam_key(z['methods'])}/candidates"][:faces, 0]
      truth = z['hr'][:faces]   # The same faces at every size.
    big = np.stack([np.asarray(Image.fromarray(f).resize((64, 64), Image.NEAREST)) for f in lr])
    columns.append(np.concatenate([big, top], axis=2))   # LR | top candidate, side by side.
  rows = np.concatenate(columns + [truth], axis=2)
  return np.concatenate(list(rows), axis=0)


def main(argv):
  del argv
  root = pathlib.Path(_RUNS.value)
  sizes = [int(s) for s in _SIZES.value]
  print(table(root, _KINDS.value, sizes))
  if _FIGURE.value:
    Image.fromarray(figure(root, _KIND.value, sizes, _FACES.value)).save(_FIGURE.value)
    print(f'wrote {_FIGURE.value}')


if __name__ == '__main__':
  cli.run(main)
