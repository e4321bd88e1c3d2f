"""Disk space for a job's results: checked before the search where it can be estimated, and
the computed candidates kept when a write still runs out of space.

The estimate is generous: per candidate, its PNG at the output size at 1.5 bytes a pixel
(measured PNGs of faces take about 1-1.3), and per input the grid, the input and the maps
(PER_INPUT); twice that for a split job, whose parts are linked into --out where the file
system allows (a copy otherwise).
"""

from __future__ import annotations

import errno
import os
import pathlib
import shutil
import sys
import tempfile

import numpy as np

PER_INPUT = 400_000
BYTES_PER_PIXEL = 1.5


class NoSpaceError(OSError):
  pass


def estimate(num_inputs: int, seeds: int, size: int, copies: int = 1) -> int:
  """Bytes the results of a job need, generously."""
  return int(copies * num_inputs * (seeds * size * size * BYTES_PER_PIXEL + PER_INPUT))


def _existing(path: pathlib.Path) -> pathlib.Path:
  path = pathlib.Path(path).absolute()
  while not path.exists() and path != path.parent:
    path = path.parent
  return path


def check(out_dir: str | pathlib.Path, needed: int) -> None:
  """NoSpaceError (one line) when the file system of `out_dir` has less free space than
  `needed` bytes."""
  where = _existing(pathlib.Path(out_dir))
  free = shutil.disk_usage(where).free
  if free < needed:
    raise NoSpaceError(errno.ENOSPC, f'--out {out_dir}: its results need about '
                       f'{needed / 1e6:.0f} MB and {where} has {free / 1e6:.0f} MB free; '
                       'free some space or pick another --out')


def is_full(error: BaseException) -> bool:
  return isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT)


def rescue(result: dict, names: list[str], say=None) -> pathlib.Path | None:
  """Keeps what was computed when --out ran out of space: every candidate (uint8), its
  re-degraded LR image and LR L1, in one npz in the temporary folder ($TMPDIR), whose file
  system may have room. Returns its path, or None when that fails too."""
  from nam_jax import images
  folder = pathlib.Path(tempfile.gettempdir())
  path = folder / f'nam_jax_results_{os.getpid()}.npz'
  try:
    lr = ({'lr': images.as_uint8(result['lr'])} if not isinstance(result['lr'], list) else
          {f'lr_{i}': images.as_uint8(x) for i, x in enumerate(result['lr'])})  # Several sizes.
    np.savez_compressed(path, names=np.array(names), hr=images.as_uint8(result['hr']),
                        loss=result['loss'], **lr)
  except OSError:
    path.unlink(missing_ok=True)
    return None
  (say or (lambda m: print(m, file=sys.stderr)))(
      f'note: the computed candidates are kept in {path} (np.load: names, hr, lr, loss)')
  return path
