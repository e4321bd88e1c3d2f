"""A small test set of REAL photographed faces, from photos that ship inside packages.

The synthetic test split is drawn by the same generator family as the training faces and
flatters any prior built on it; these faces were photographed. Sources (see
docs/real_faces.md for licences):
  astronaut     scikit-image wheel, skimage.data.astronaut() (NASA, public domain)
  grace_hopper  matplotlib wheel, mpl-data/sample_data/grace_hopper.jpg (US Navy, public domain)
  obama*, biden face_recognition 1.3.0 sdist, tests/test_images/ (package MIT; the photos'
                own provenance is not stated in the package). The sdist is fetched from PyPI
                by pip once, at set-up time, into the data dir; never at inference.

Every photo: the largest face found and aligned by nam_jax/data/align.py (dlib's HOG
detector, 68 landmarks, the FFHQ alignment square resampled to 256 px), Lanczos-downsampled to
64 px as the synthetic HR faces are. Faces whose aligned square is under 64 px in the photo are rejected, not
upscaled. LR inputs are made two ways: the camera pipeline (nam_jax/data/camera.py, seeded per
face) and plain bicubic downsampling.

  python -m nam_jax.data.real_faces            # build (or report) $NAM_JAX_DATA/real_faces
"""

from __future__ import annotations

import dataclasses
import importlib.util
import pathlib
import subprocess
import sys
import tarfile

import numpy as np
from PIL import Image

from nam_jax.data import align, camera, face_synth

MIN_FACE = 64          # Aligned squares smaller than this in the photo are rejected.
FACE_RECOGNITION = 'face_recognition==1.3.0'
FR_PHOTOS = ('obama.jpg', 'obama2.jpg', 'obama3.jpg', 'biden.jpg')


def data_dir() -> pathlib.Path:
  return face_synth.default_cache_dir() / 'real_faces'


@dataclasses.dataclass
class Photo:
  name: str
  source: str
  image: np.ndarray       # uint8 [H, W, 3]


def _skimage_astronaut() -> list[Photo]:
  from skimage import data
  return [Photo('astronaut', 'scikit-image: skimage.data.astronaut()', data.astronaut())]


def _matplotlib_hopper() -> list[Photo]:
  spec = importlib.util.find_spec('matplotlib')
  if spec is None:
    return []
  path = (pathlib.Path(spec.submodule_search_locations[0]) / 'mpl-data' / 'sample_data' /
          'grace_hopper.jpg')
  if not path.is_file():
    return []
  return [Photo('grace_hopper', 'matplotlib: mpl-data/sample_data/grace_hopper.jpg',
                np.asarray(Image.open(path).convert('RGB')))]


def fetch_face_recognition_sdist(cache: pathlib.Path) -> pathlib.Path | None:
  """The face_recognition sdist in `cache`, downloaded by pip if missing (set-up time)."""
  cache.mkdir(parents=True, exist_ok=True)
  found = sorted(cache.glob('face_recognition-1.3.0.tar.gz'))
  if found:
    return found[0]
  proc = subprocess.run([sys.executable, '-m', 'pip', 'download', '--no-deps', '--no-binary',
                         ':all:', '-q', FACE_RECOGNITION, '-d', str(cache)],
                        capture_output=True, text=True)
  found = sorted(cache.glob('face_recognition-1.3.0.tar.gz'))
  if proc.returncode or not found:
    print(f'skipped the face_recognition photos: pip could not fetch {FACE_RECOGNITION} '
          f'({proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "no file"})',
          file=sys.stderr)
    return None
  return found[0]


def _face_recognition_photos(cache: pathlib.Path) -> list[Photo]:
  sdist = fetch_face_recognition_sdist(cache)
  if sdist is None:
    return []
  photos = []
  with tarfile.open(sdist) as tar:
    for member in tar.getmembers():
      name = pathlib.PurePosixPath(member.name).name
      if '/tests/test_images/' in member.name and name in FR_PHOTOS:
        with tar.extractfile(member) as f:
          image = np.asarray(Image.open(f).convert('RGB'))
        photos.append(Photo(name.rsplit('.', 1)[0], f'{FACE_RECOGNITION} sdist: {member.name}',
                            image))
  return sorted(photos, key=lambda p: p.name)


def photos(cache: pathlib.Path | None = None) -> list[Photo]:
  cache = cache or data_dir()
  return _skimage_astronaut() + _matplotlib_hopper() + _face_recognition_photos(cache)


@dataclasses.dataclass
class RealFaces:
  names: list[str]
  sources: list[str]
  hr: np.ndarray            # uint8 [N, 64, 64, 3]
  lr_camera: np.ndarray     # uint8 [N, 16, 16, 3]
  lr_bicubic: np.ndarray    # uint8 [N, 16, 16, 3]
  rejected: list[str]


def build(cache: pathlib.Path | None = None) -> RealFaces:
  names, sources, hr, rejected = [], [], [], []
  for i, photo in enumerate(photos(cache)):
    face = align.largest(align.find_faces(photo.image))
    if face is None:
      rejected.append(f'{photo.name}: no face found')
      continue
    if face.side < MIN_FACE:
      rejected.append(f'{photo.name}: face square {face.side:.0f} px < {MIN_FACE} px')
      continue
    names.append(photo.name)
    sources.append(photo.source)
    hr.append(align.crop(photo.image, face.quad))
  hr = np.stack(hr)
  lr_camera = np.stack([camera.degrade_face(h, 40_000_000 + i)[0] for i, h in enumerate(hr)])
  lr_bicubic = np.stack([np.asarray(Image.fromarray(h).resize((16, 16), Image.BICUBIC))
                         for h in hr])
  return RealFaces(names, sources, hr, lr_camera, lr_bicubic, rejected)


def load(cache: pathlib.Path | None = None, rebuild: bool = False) -> RealFaces:
  """The real-face test set, built on first use and kept as an npz in the data dir."""
  cache = cache or data_dir()
  path = cache / 'real_faces.npz'
  if path.is_file() and not rebuild:
    z = np.load(path)
    return RealFaces(list(z['names']), list(z['sources']), z['hr'], z['lr_camera'],
                     z['lr_bicubic'], list(z['rejected']))
  faces = build(cache)
  tmp = path.with_name('real_faces.tmp.npz')
  np.savez(tmp, names=faces.names, sources=faces.sources, hr=faces.hr,
           lr_camera=faces.lr_camera, lr_bicubic=faces.lr_bicubic, rejected=faces.rejected)
  tmp.replace(path)
  return faces


if __name__ == '__main__':
  rf = load(rebuild='--rebuild' in sys.argv)
  print(f'{len(rf.names)} real faces: {", ".join(rf.names)}')
  for r in rf.rejected:
    print(f'rejected {r}')
