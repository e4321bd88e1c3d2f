"""Faces at their own size (nam_jax/nam/sizes.py): the size a face is searched at, the
degradations at that size, inputs of several sizes in one job, and the LR sets made at a size."""

import pathlib

import chex
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image

from nam_jax import degradations
from nam_jax.data import folder, other_cameras, real_faces
from nam_jax.degradations import camera, operators
from nam_jax.nam import chunks, consistency, models, sizes

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_search_size_rounds_down_to_a_compiled_size_and_never_enlarges():
  assert [sizes.search_size(s) for s in (8, 11, 16, 20, 31, 40, 64, 90, 1000)] == \
      [8, 8, 16, 16, 24, 32, 64, 64, 64]
  with pytest.raises(ValueError, match='smaller than the smallest'):
    sizes.search_size(7)
  assert sizes.side_of(16, 90) == 16 and sizes.side_of(sizes.OWN, 90) == 64
  for bad in (-1, 4, 65):
    with pytest.raises(ValueError, match='lr_size must be 0'):
      sizes.check_lr_size(bad)


def test_inputs_of_several_sizes_are_grouped_and_scattered_back():
  faces = [np.full((s, s, 3), s, np.uint8) for s in (16, 24, 16)]
  batch = sizes.as_batch(faces)
  assert sizes.is_ragged(batch)
  assert [(s, list(i)) for s, i in sizes.by_size(batch)] == [(16, [0, 2]), (24, [1])]
  assert [x.shape[0] for x in sizes.take(batch, [1, 0])] == [24, 16]
  assert sizes.take(batch, [0, 2]).shape == (2, 16, 16, 3)  # One size: one array again.
  parts = [(np.array([0, 2]), {'loss': np.array([1., 3.]), 'lr': np.zeros((2, 4, 16, 16, 3))}),
           (np.array([1]), {'loss': np.array([2.]), 'lr': np.ones((1, 4, 24, 24, 3))})]
  merged = sizes.scatter(parts, 3)
  np.testing.assert_array_equal(merged['loss'], [1., 2., 3.])
  assert [x.shape for x in merged['lr']] == [(4, 16, 16, 3), (4, 24, 24, 3), (4, 16, 16, 3)]
  # Parts that are themselves of several sizes (auto: one part per degradation chosen).
  again = sizes.scatter([(np.array([1, 0, 3]), merged), (np.array([2]), parts[1][1])], 4)
  assert [x.shape[1] for x in again['lr']] == [24, 16, 24, 16]
  np.testing.assert_array_equal(again['loss'], [2., 1., 2., 3.])


@pytest.mark.parametrize('size', [8, 24, 32])
def test_operators_and_camera_map_a_face_to_its_own_size(size):
  """A 64 px face downsampled by the operator at s px equals PIL's resize to s (the input a
  user's s px face is compared with), and the camera model makes s px faces."""
  rng = np.random.default_rng(size)
  face = rng.integers(0, 256, (64, 64, 3), np.uint8)
  face = np.asarray(Image.fromarray(face).resize((8, 8)).resize((64, 64), Image.BICUBIC))
  bicubic = degradations.at_size(operators.KnownOperator('bicubic'), size)
  ours = np.asarray(bicubic({}, jnp.asarray(face[None] / 127.5 - 1.0, jnp.float32), None))[0]
  pil = np.asarray(Image.fromarray(face).resize((size, size), Image.BICUBIC)) / 127.5 - 1.0
  chex.assert_shape(ours, (size, size, 3))
  assert np.abs(ours - pil).max() < 3 / 127.5  # Within 1.5 of 255 levels (PIL rounds).
  cam = degradations.at_size(camera.CameraDegradation(), size)
  out = cam({}, jnp.zeros((2, 64, 64, 3)), jnp.zeros((2, camera.NUM_PARAMS)))
  chex.assert_shape(out, (2, size, size, 3))


def test_a_degradation_without_a_size_refuses_other_sizes():
  class Fixed:
    noise_dim = 0
  assert degradations.at_size(Fixed(), 16) is not None
  with pytest.raises(ValueError, match='makes 16 px faces only'):
    degradations.at_size(Fixed(), 24)


def test_a_folder_of_faces_keeps_each_face_at_its_own_size(tmp_path):
  for side in (12, 20, 30, 100):
    Image.new('RGB', (side, side + 5), (side, 90, 40)).save(tmp_path / f'f{side:03d}.png')
  Image.new('RGB', (6, 6)).save(tmp_path / 'tiny.png')
  lr, used, errors = folder.load_folder(tmp_path, lambda side: sizes.side_of(0, side))
  assert [x.shape[0] for x in lr] == [12, 16, 24, 64]
  assert len(errors) == 1 and 'tiny.png' in errors[0] and 'smallest' in errors[0]
  lr, _, errors = folder.load_folder(tmp_path, 16)  # One size asked for: one array.
  assert isinstance(lr, np.ndarray) and lr.shape == (3, 16, 16, 3)
  assert len(errors) == 2 and 'smaller than the 16x16 target' in errors[0]


def test_ragged_inputs_are_searched_each_at_its_size(job_settings):
  """One job over 16, 24 and 32 px faces (bicubic): every candidate's re-degraded image has
  its input's size, and its loss is the L1 at that size."""
  settings = job_settings(seeds=2, degradation='bicubic')
  model = models.load_model(settings)
  rng = np.random.default_rng(0)
  faces = [rng.integers(0, 256, (s, s, 3), np.uint8) for s in (16, 32, 24, 16)]
  out = models.super_resolve(model, faces, settings)
  assert [x.shape for x in out['lr']] == [(2, s, s, 3) for s in (16, 32, 24, 16)]
  chex.assert_shape(out['hr'], (4, 2, 64, 64, 3))
  for i, face in enumerate(faces):
    target = face / 127.5 - 1.0
    np.testing.assert_allclose(out['loss'][i], np.abs(out['lr'][i] - target).mean(axis=(1, 2, 3)),
                               atol=1e-5)
  maps = consistency.residual_maps(out['lr'], [f / 127.5 - 1 for f in faces])
  assert [m.shape for m in maps] == [(2, s, s) for s in (16, 32, 24, 16)]
  with pytest.raises(ValueError, match='square RGB faces of 8-64 px'):
    chunks.checked_inputs(np.zeros((1, 5, 5, 3), np.uint8))


@pytest.mark.parametrize('kind', ['bicubic', 'defocus', 'bayer', 'phone'])
def test_the_real_sets_are_made_at_each_size_from_the_same_draws(kind):
  hr = np.asarray(Image.open(ROOT / 'tests' / 'data' / 'astronaut_face.png').convert(
      'RGB').resize((64, 64)))
  hr = hr[None]
  assert np.array_equal(real_faces.make_lr(hr, kind), real_faces.make_lr(hr, kind, size=16))
  means = []
  for size in (16, 24, 32):
    lr = real_faces.make_lr(hr, kind, size=size)
    assert lr.shape == (1, size, size, 3) and lr.dtype == np.uint8
    means.append(lr.mean())
  # The same face at every size: its mean colour moves by a few levels at most.
  assert np.ptp(means) < 8, means
  if kind in other_cameras.PIPELINES:
    assert other_cameras.degrade(hr[0], kind, 1, size=48).shape == (48, 48, 3)


def test_align_cuts_each_face_of_a_photo_at_the_size_it_holds():
  """examples/photos/group.jpg: squares of 174, 167 and 45 px are searched at 64, 64 and 32
  px; --lr_size=16 cuts all three at 16."""
  from nam_jax.nam import inputs as inputs_lib
  photo = str(ROOT / 'examples' / 'photos' / 'group.jpg')
  own = inputs_lib.resolve(photo, None, align=True, lr_size=sizes.OWN)
  assert [x.shape[0] for x in own.lr_images] == [64, 64, 32]
  assert all('aligned at' in line for line in own.found)
  fixed = inputs_lib.resolve(photo, None, align=True, lr_size=16)
  assert fixed.lr_images.shape == (3, 16, 16, 3)
