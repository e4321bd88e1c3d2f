"""Where infer.py's LR faces come from: an image file, a folder, or a dataset split.

  PATH.png / PATH/           image file or folder, any size: largest centred square resized
                             with anti-aliasing to its search size (lr_size; 0: its own side
                             rounded down to one of nam/sizes.SIZES, 8-64 px); colour modes
                             converted; unusable files reported and skipped. With align: every
                             face of each photo, found and aligned as the training faces
                             (nam_jax/data/align.py), cut at its own size the same way
  synthetic:test             the config's paired real-world LR test split (has HR truth)
  synthetic:train            the config's unpaired LR train split
                             (dataset faces keep their 16 px unless lr_size names another)
  tfds:wider_face:SPLIT      face crops of TFDS wider_face (see nam_jax/data/tfds_faces.py)
"""

from __future__ import annotations

import dataclasses
import pathlib

import numpy as np

from nam_jax.data import crops, datasets, folder
from nam_jax.nam import names as names_lib
from nam_jax.nam import sizes

LR_SIZE = 16


@dataclasses.dataclass
class Inputs:
  names: list[str]
  sources: list[str]
  lr_images: np.ndarray | list       # uint8 [N, s, s, 3], or a list of [s_i, s_i, 3] (sizes.py)
  skipped: list[str]                  # One message per unusable file (or face, with align).
  hr_truth: np.ndarray | None = None  # uint8 [N, 64, 64, 3] where known.
  found: list[str] = dataclasses.field(default_factory=list)  # With align: one line per face.
  sheets: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)  # name -> contact sheet
  # With align: each photo (name -> uint8 [H, W, 3]) and, per input, where its face came from.
  photos: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
  placements: list['Placement | None'] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class Placement:
  """Where an aligned input face lies in its photo."""
  photo: str         # The photo's output name (a key of Inputs.photos).
  quad: np.ndarray   # Its alignment square [4, 2] (nam_jax/data/align.py).


def _limit(n: int, limit: int | None) -> int:
  return n if not limit else min(n, limit)


def resolve(spec: str, data_cfg, limit: int | None = None, align: bool = False,
            lr_size: int = LR_SIZE) -> Inputs:
  """The LR faces named by `spec` (see the module docstring), at most `limit` (0 = all), at
  `lr_size` px (sizes.OWN: each at its own size).

  With `align`, image files are photos: every face in them is found and aligned
  (nam_jax/data/align.py) and becomes one input.
  """
  found = _resolve(spec, data_cfg, limit, align, sizes.check_lr_size(lr_size))
  if lr_size not in (sizes.OWN, LR_SIZE) and not sizes.is_ragged(found.lr_images) and \
      found.lr_images.shape[1] != lr_size:  # Dataset faces at the size asked for.
    found.lr_images = np.stack([crops.resize(x, lr_size) for x in found.lr_images])
  return found


def _resolve(spec: str, data_cfg, limit: int | None, align: bool, lr_size: int) -> Inputs:
  if not spec:
    raise ValueError('no input given: pass an image file, a folder or a dataset split')
  if align and ':' in spec and not pathlib.Path(spec).exists():
    raise ValueError(f'--align works on photos (image files or folders), not on {spec}')
  if spec.startswith('synthetic:'):
    split = spec.split(':', 1)[1]
    if split == 'test':
      pairs = datasets.lr_test_pairs(data_cfg, limit=limit or None)
      names = [f'lr_test_seed{int(s)}' for s in pairs['seed']]
      return Inputs(names, [f'synthetic_faces_lr/test seed {int(s)}' for s in pairs['seed']],
                    pairs['lr'], [], pairs['hr'])
    if split == 'train':
      src = datasets.lr_source(data_cfg, 'train')
      lr_images = datasets.take(src, _limit(len(src), limit))
      n = len(lr_images)
      return Inputs([f'lr_train_{i}' for i in range(n)],
                    [f'synthetic_faces_lr/train #{i}' for i in range(n)], lr_images, [])
    raise ValueError(f'unknown split in --input={spec}: use synthetic:test or synthetic:train')
  if spec.startswith('tfds:'):
    parts = spec.split(':')
    if len(parts) != 3 or parts[1] != 'wider_face':
      raise ValueError(f'--input={spec}: expected tfds:wider_face:SPLIT')
    from nam_jax.data import tfds_faces
    lr_images = tfds_faces.wider_face_crops(parts[2], LR_SIZE, limit=limit or None)
    n = len(lr_images)
    return Inputs([f'wider_face_{i}' for i in range(n)],
                  [f'{spec} crop {i}' for i in range(n)], lr_images, [])
  path = pathlib.Path(spec)
  if path.is_dir():
    files = folder.list_files(path)[:limit or None]
  elif path.exists():
    files = [path]
  elif path.is_symlink():
    try:
      path.resolve(strict=True)
      why = 'it leads nowhere'
    except RuntimeError:
      why = 'it is a loop of links'
    except OSError:
      why = 'it points to a missing file'
    raise FileNotFoundError(f'--input {path}: a symbolic link that cannot be followed ({why})')
  else:
    raise FileNotFoundError(f'--input {path}: no such file or folder')
  if align:
    return _aligned_faces(files, limit, lr_size)
  lr_images, used, skipped = folder.load_images(
      files, lambda side: sizes.side_of(lr_size, side), skip_bad=True)
  return Inputs(_names(used), [str(p) for p in used], lr_images, skipped)


def _names(paths: list[pathlib.Path]) -> list[str]:
  """Safe, distinct output names of input files (nam_jax/nam/names.py)."""
  return names_lib.unique([p.stem for p in paths], [str(p) for p in paths])


def _aligned_faces(files: list[pathlib.Path], limit: int | None, lr_size: int) -> Inputs:
  """Every face of every photo, aligned at `lr_size` (sizes.OWN: the size its alignment
  square holds in the photo), with one line per face found."""
  from nam_jax.data import align
  names, sources, lr, skipped, found, sheets, photos, places = [], [], [], [], [], {}, {}, []
  for path, photo_name in zip(files, _names(files)):
    try:
      photo = folder.read_rgb(path)
    except folder.BadImageError as e:
      skipped.append(str(e))
      continue
    faces = align.find_faces(photo)
    sheets[photo_name] = align.contact_sheet(photo, faces)
    photos[photo_name] = photo
    if not faces:
      skipped.append(f'{path}: no face found')
    for f in faces:
      where = f'{path}: face {f.index} at x={f.box[0]}, y={f.box[1]}'
      if f.problem:
        skipped.append(f'{where}: {f.problem}')
        continue
      names.append(f'{photo_name}_face{f.index}')
      sources.append(f'{path} face {f.index}')
      lr.append(align.crop(photo, f.quad, sizes.side_of(lr_size, int(f.side))))
      places.append(Placement(photo_name, f.quad))
      found.append(f'{where}: square {f.side:.0f} px, aligned at {len(lr[-1])} px -> '
                   f'{names[-1]}')
  if limit:
    names, sources, lr, places = names[:limit], sources[:limit], lr[:limit], places[:limit]
  if not names:
    raise ValueError('no face to super-resolve: ' + '; '.join(skipped))
  return Inputs(names_lib.unique(names, sources), sources, sizes.as_batch(lr), skipped,
                found=found,
                sheets=sheets, photos=photos, placements=places)


def subset(inputs: Inputs, index) -> Inputs:
  """The inputs at `index` (a list of positions), with their truth; photos and placements
  (--align) are not carried."""
  index = list(index)
  return Inputs([inputs.names[i] for i in index], [inputs.sources[i] for i in index],
                sizes.take(inputs.lr_images, index), [],
                None if inputs.hr_truth is None else inputs.hr_truth[index])
