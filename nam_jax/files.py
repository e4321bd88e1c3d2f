"""Files written whole or not at all: a crash or a kill never leaves half a file behind."""

from __future__ import annotations

import json
import math
import os
import pathlib
from typing import Any


def writable_folder(path: str | pathlib.Path) -> str | None:
  """Creates the folder `path` if need be; None when it can hold files, else why not (one
  phrase: a file in the way, cannot be created, not writable)."""
  path = pathlib.Path(path).absolute()
  for d in (*reversed(path.parents), path):
    if d.exists() and not d.is_dir():
      return f'{d} is a file, not a folder'
  try:
    path.mkdir(parents=True, exist_ok=True)
  except OSError as e:
    return f'cannot create it ({e.strerror})'
  if not os.access(path, os.W_OK | os.X_OK):
    return 'not writable'
  return None


def write_text(path: str | pathlib.Path, text: str) -> pathlib.Path:
  """Writes `text` to a temporary file beside `path`, then renames it over `path`."""
  path = pathlib.Path(path)
  tmp = path.with_name(f'.{path.name}.{os.getpid()}.tmp')
  with open(tmp, 'w') as f:
    f.write(text)
    f.flush()
    os.fsync(f.fileno())
  os.replace(tmp, path)
  return path


def finite_or_none(data: Any) -> Any:
  """`data` with every NaN or infinite float replaced by None (JSON null)."""
  if isinstance(data, float):
    return data if math.isfinite(data) else None
  if isinstance(data, dict):
    return {k: finite_or_none(v) for k, v in data.items()}
  if isinstance(data, (list, tuple)):
    return [finite_or_none(v) for v in data]
  return data


def write_json(path: str | pathlib.Path, data: Any) -> pathlib.Path:
  """Strict JSON (non-finite floats become null), written atomically."""
  return write_text(path, json.dumps(finite_or_none(data), indent=2, allow_nan=False))


def figure_path(out_dir: str | pathlib.Path, name: str) -> pathlib.Path:
  """Where a figure of an output folder goes: OUT/figures/NAME (the folder is made)."""
  folder = pathlib.Path(out_dir) / 'figures'
  folder.mkdir(parents=True, exist_ok=True)
  return folder / name
