"""Output names for infer.py's inputs: safe, unique and stable.

Each input gets one folder in --out (and, with --align, each photo one contact sheet). Its name
is the input's file stem with every character other than letters, digits, '-' and '_'
replaced by '_' (so no name holds a path separator or a dot: never '.', '..', a hidden name, or
a name that could be taken for results.json or a PNG written beside the folders). Names that
still collide, compared case-insensitively as on macOS and Windows file systems, are
disambiguated from the input's own file name: first the sanitised name with its extension
(`a_jpg`, `a_png`), then the stem with a short hash of the full path. A name never carries the
user's folders, so it does not depend on where the input lies.
"""

from __future__ import annotations

import hashlib
import pathlib
import unicodedata

MAX_LENGTH = 64
# Device names Windows refuses as file names, whatever the extension.
_RESERVED = {'con', 'prn', 'aux', 'nul', *(f'com{i}' for i in range(10)),
             *(f'lpt{i}' for i in range(10))}


def sanitise(text: str) -> str:
  """`text` as a safe file name: letters, digits, '-' and '_' only; never empty."""
  text = unicodedata.normalize('NFC', text)
  out = ''.join(c if (c.isalnum() or c in '-_') else '_' for c in text)[:MAX_LENGTH]
  if not out.strip('_'):
    out = 'input' + out
  if out.lower() in _RESERVED:
    out = '_' + out
  return out


def _digest(text: str) -> str:
  return hashlib.sha1(text.encode('utf-8', 'surrogatepass')).hexdigest()[:8]


def unique(stems: list[str], paths: list[str]) -> list[str]:
  """One safe, distinct name per input (stems[i] of paths[i]); inputs that do not collide keep
  their sanitised stem."""
  if len(stems) != len(paths):
    raise ValueError('one path per stem expected')
  candidates = [
      [sanitise(s) for s in stems],
      [sanitise(pathlib.PurePath(p).name) for p in paths],
      [f'{sanitise(s)[:MAX_LENGTH - 9]}-{_digest(p)}' for s, p in zip(stems, paths)],
  ]
  names = list(candidates[0])
  for level in (1, 2):
    counts: dict[str, int] = {}
    for n in names:
      counts[n.lower()] = counts.get(n.lower(), 0) + 1
    names = [candidates[level][i] if counts[n.lower()] > 1 else n for i, n in enumerate(names)]
  # Equal paths (the same input named twice) still collide: number them in order.
  used: set[str] = set()
  out = []
  for n in names:
    name, k = n, 1
    while name.lower() in used:
      k += 1
      name = f'{n}_{k}'
    used.add(name.lower())
    out.append(name)
  return out
