"""The independent LR pipelines (nam_jax/data/other_cameras.py): shapes, seeds, statistics."""

import numpy as np
import pytest
from PIL import Image

from nam_jax.data import other_cameras


def _faces(n=6) -> np.ndarray:
  rng = np.random.default_rng(0)
  yy, xx = np.mgrid[0:64, 0:64] / 64.0
  out = []
  for _ in range(n):
    base = np.stack([0.7 + 0.2 * yy, 0.5 + 0.2 * xx, 0.4 + 0.1 * xx * yy], -1)
    base = base * rng.uniform(0.6, 1.1) + 0.05 * rng.normal(size=(64, 64, 3))
    base[24:40, 24:40] *= 0.5  # Some structure for blur to remove.
    out.append(np.clip(base * 255, 0, 255).astype(np.uint8))
  return np.stack(out)


def _bicubic(hr):
  return np.stack([np.asarray(Image.fromarray(h).resize((16, 16), Image.BICUBIC)) for h in hr])


@pytest.mark.parametrize('kind', other_cameras.PIPELINES)
def test_pipeline_output_statistics(kind):
  hr = _faces()
  lr = other_cameras.degrade_all(hr, kind)
  assert lr.shape == (6, 16, 16, 3) and lr.dtype == np.uint8
  np.testing.assert_array_equal(lr, other_cameras.degrade_all(hr, kind))  # Seeded.
  assert not np.array_equal(lr[0], other_cameras.degrade(hr[0], kind, 1))
  ref = _bicubic(hr).astype(np.float64)
  diff = lr.astype(np.float64) - ref
  # The same face: mean brightness within a camera's exposure error of plain downsampling,
  # and never an identical image (blur, noise and compression all change it).
  assert np.abs(diff.mean()) < 40
  assert np.abs(diff).mean() > 1.0
  # Correlated with plain downsampling pixel by pixel (the face is still there).
  assert np.corrcoef(lr.ravel(), ref.ravel())[0, 1] > 0.8


def test_defocus_has_no_cast_and_bayer_casts_vary():
  hr = _faces(12)
  ref = _bicubic(hr).astype(np.float64).mean(axis=(1, 2))
  ratio = lambda lr: (lr.astype(np.float64).mean(axis=(1, 2)) + 1) / (ref + 1)
  chroma = lambda r: np.log(r[:, 0] / r[:, 1])  # Red against green, per face.
  defocus = chroma(ratio(other_cameras.degrade_all(hr, 'defocus')))
  bayer = chroma(ratio(other_cameras.degrade_all(hr, 'bayer')))
  assert np.std(defocus) < 0.02 and np.std(bayer) > 2.5 * np.std(defocus)


def test_kernels_are_normalised():
  for k in (other_cameras.disc_kernel(1.7), other_cameras.line_kernel(4.2, 0.7)):
    assert k.sum() == pytest.approx(1.0) and (k >= 0).all()
  disc = other_cameras.disc_kernel(2.0)
  assert disc[disc.shape[0] // 2, disc.shape[1] // 2] > disc[0, 0]


def test_linear_light_round_trip():
  x = np.linspace(0, 1, 101)
  np.testing.assert_allclose(other_cameras.to_srgb(other_cameras.to_linear(x)), x, atol=1e-9)


def test_bad_input_is_refused():
  with pytest.raises(ValueError, match='unknown pipeline'):
    other_cameras.degrade(_faces(1)[0], 'fisheye', 0)
  with pytest.raises(ValueError, match='uint8 face'):
    other_cameras.degrade(np.zeros((32, 32, 3), np.uint8), 'defocus', 0)
