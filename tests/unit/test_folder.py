"""Image folders: conversions, the centre-crop rule, and one clear error per bad file."""

import numpy as np
import pytest
from PIL import Image

from nam_jax.data import datasets, folder


def _save(path, array, mode=None, **kw):
  Image.fromarray(array, mode=mode).save(path, **kw)
  return path


@pytest.fixture
def mixed_folder(tmp_path):
  rng = np.random.default_rng(0)
  _save(tmp_path / 'a_rgb.png', rng.integers(0, 255, (80, 120, 3), dtype=np.uint8))
  _save(tmp_path / 'b_gray.png', rng.integers(0, 255, (70, 70), dtype=np.uint8))
  _save(tmp_path / 'c_rgba.png', rng.integers(0, 255, (64, 64, 4), dtype=np.uint8))
  Image.fromarray(rng.integers(0, 65535, (90, 90), dtype=np.uint16)).save(tmp_path / 'd_16bit.png')
  _save(tmp_path / 'e_small.png', rng.integers(0, 255, (20, 30, 3), dtype=np.uint8))
  (tmp_path / 'f_notes.txt').write_text('not an image')
  good = tmp_path / 'g_corrupt.jpg'
  _save(good, rng.integers(0, 255, (100, 100, 3), dtype=np.uint8), format='JPEG')
  good.write_bytes(good.read_bytes()[:200])  # Truncated JPEG.
  return tmp_path


def test_colour_modes_are_converted(mixed_folder):
  for name in ('a_rgb.png', 'b_gray.png', 'c_rgba.png', 'd_16bit.png'):
    im = folder.load_image(mixed_folder / name, 64)
    assert im.shape == (64, 64, 3) and im.dtype == np.uint8, name
  gray = folder.load_image(mixed_folder / 'b_gray.png', 64)
  np.testing.assert_array_equal(gray[..., 0], gray[..., 1])
  sixteen = folder.load_image(mixed_folder / 'd_16bit.png', 64)
  assert 60 < sixteen.mean() < 200  # Scaled from 16 bits, not clipped to white.


def test_center_square_rule():
  wide = np.zeros((64, 128, 3), np.uint8)
  wide[:, 32:96] = 255  # The centred 64x64 square is all white.
  from nam_jax.data import crops
  np.testing.assert_array_equal(crops.center_square(wide), np.full((64, 64, 3), 255, np.uint8))


@pytest.mark.parametrize('name, message', [
    ('e_small.png', 'e_small.png: image is 30x20, smaller than the 64x64 target'),
    ('f_notes.txt', 'f_notes.txt: not an image file'),
    ('g_corrupt.jpg', 'g_corrupt.jpg: corrupt image'),
    ('missing.png', 'missing.png: file not found'),
])
def test_bad_files_name_themselves(mixed_folder, name, message):
  with pytest.raises(folder.BadImageError, match=message):
    folder.load_image(mixed_folder / name, 64)


def test_folder_skips_bad_files_and_reports_each(mixed_folder):
  images, used, errors = folder.load_folder(mixed_folder, 64)
  assert [p.name for p in used] == ['a_rgb.png', 'b_gray.png', 'c_rgba.png', 'd_16bit.png']
  assert images.shape == (4, 64, 64, 3)
  assert len(errors) == 3 and all(mixed_folder.name in e for e in errors)
  with pytest.raises(folder.BadImageError, match='e_small.png'):
    folder.load_folder(mixed_folder, 64, skip_bad=False)


def test_empty_and_missing_folders(tmp_path):
  with pytest.raises(ValueError, match='folder is empty'):
    folder.load_folder(tmp_path, 64)
  with pytest.raises(FileNotFoundError, match='no such folder'):
    folder.load_folder(tmp_path / 'nope', 64)
  (tmp_path / 'x.txt').write_text('x')
  with pytest.raises(ValueError, match='no usable image'):
    folder.load_folder(tmp_path, 64)


def test_folder_source_in_config(mixed_folder):
  from configs import test as test_cfg
  cfg = test_cfg.get_config().data
  cfg.update(source='folder', hr_folder=str(mixed_folder), lr_folder=str(mixed_folder))
  hr = datasets.hr_source(cfg, 'train')
  lr = datasets.lr_source(cfg, 'test')
  assert len(hr) == 3 and hr[0].shape == (64, 64, 3)
  assert len(lr) == 1 and lr[0].shape == (16, 16, 3)


def test_exif_orientation_is_applied(tmp_path):
  x = np.zeros((32, 64, 3), np.uint8)
  x[:, :32] = 255  # Left half white, as stored.
  im = Image.fromarray(x)
  exif = im.getexif()
  exif[0x0112] = 6  # Stored rotated: display after a 90-degree clockwise turn.
  im.save(tmp_path / 'photo.jpg', exif=exif.tobytes(), quality=95)
  loaded = folder.load_image(tmp_path / 'photo.jpg', 16)
  upright = np.asarray(Image.fromarray(x).rotate(-90, expand=True))
  assert loaded.shape == (16, 16, 3)
  top, bottom = loaded[:8].mean(), loaded[8:].mean()
  assert (top > bottom) == (upright[:32].mean() > upright[32:].mean()) and abs(top - bottom) > 100
