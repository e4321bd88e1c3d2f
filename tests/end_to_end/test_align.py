"""--align: every face of a photo found, aligned as the training faces, reported one by one."""

import json
import pathlib

import chex
import numpy as np
import pytest
from PIL import Image

from nam_jax.data import align, examples
from nam_jax.nam import inputs, job


def test_ffhq_quad_of_an_upright_face():
  points = np.zeros((68, 2))
  points[36:42] = (40.0, 50.0)   # Left eye centre.
  points[42:48] = (60.0, 50.0)   # Right eye centre: eyes 20 px apart.
  points[48], points[54] = (42.0, 80.0), (58.0, 80.0)   # Mouth 30 px below the eyes.
  quad = align.ffhq_quad(points)
  # Half side = max(2 x 20, 1.8 x 30) = 54; centre = eye midpoint + 0.1 x (0, 30).
  np.testing.assert_allclose(quad, [[-4, -1], [-4, 107], [104, 107], [104, -1]], atol=1e-9)


GROUP = pathlib.Path(__file__).resolve().parents[2] / 'examples' / 'photos' / 'group.jpg'
# Bundled: the astronaut (face square ~170 px), Grace Hopper at half size (~170 px), at an
# eighth (~45 px) and at a fifteenth (~29 px, under MIN_SIDE): see examples/photos/README.md.


@pytest.fixture(scope='module')
def group_photo() -> pathlib.Path:
  return GROUP


def test_every_face_is_found_and_the_small_ones_are_reported(group_photo):
  photo = np.asarray(Image.open(group_photo))
  found = align.find_faces(photo)
  boxes = [f.box for f in found]
  assert len(found) == 4
  assert any(b[0] < 512 and b[1] < 200 for b in boxes)          # The astronaut's face.
  assert any(540 <= b[0] < 860 and b[1] < 200 for b in boxes)   # Hopper, half size.
  assert any(b[0] >= 860 and b[1] >= 380 for b in boxes)        # Hopper, an eighth.
  small = [f for f in found if f.problem]
  assert len(small) == 1 and 540 <= small[0].box[0] < 860 and small[0].box[1] >= 400
  assert small[0].side < align.MIN_SIDE and 'too small to align' in small[0].problem
  crop = align.crop(photo, found[0].quad, 16)
  assert crop.shape == (16, 16, 3) and crop.dtype == np.uint8
  sheet = align.contact_sheet(photo, found)
  assert sheet.ndim == 3 and sheet.shape[2] == 3 and sheet.shape[0] > 512 * 560 // 1000


def test_align_inputs_name_each_face_and_list_the_rest(group_photo):
  got = inputs.resolve(str(group_photo), None, align=True)
  assert got.lr_images.shape == (3, 16, 16, 3) and len(got.names) == len(got.found) == 3
  assert got.names == ['group_face0', 'group_face2', 'group_face3']
  assert len(got.skipped) == 1 and 'face 1' in got.skipped[0]
  assert 'too small to align' in got.skipped[0]
  assert list(got.sheets) == ['group']
  with pytest.raises(ValueError, match='--align works on photos'):
    inputs.resolve('synthetic:test', None, align=True)


def test_infer_align_writes_a_contact_sheet_and_one_line_per_face(
    group_photo, job_settings, tmp_path, test_config, capsys):
  s = job_settings(seeds=2, steps=2, max_batch=8, unroll=1, input=str(group_photo), align=True,
                   out=str(tmp_path / 'out'))
  code = job.super_resolve_job(s, test_config.data)
  captured = capsys.readouterr()
  assert code == 0
  results = json.loads((tmp_path / 'out' / 'results.json').read_text())
  found = [l for l in captured.out.splitlines() if l.startswith('found: ')]
  assert len(found) == results['num_inputs'] == len(results['faces_found']) == 3
  assert (tmp_path / 'out' / 'group_faces.png').is_file()


def test_bundled_examples_are_the_aligned_faces_they_say_they_are():
  """examples/*.png are what `python -m nam_jax.data.examples` cuts from the packaged photos."""
  made = {name: face for name, face, _ in examples.example_faces()}
  assert sorted(made) == sorted(p.name for p in examples.OUT.glob('*.png'))
  for name, face in made.items():
    shipped = np.asarray(Image.open(examples.OUT / name).convert('RGB'))
    chex.assert_shape(face, shipped.shape)
    assert shipped.shape[0] == int(name.rsplit('_', 1)[1][:-4])
    # The detector may land a fraction of a pixel apart on another CPU.
    assert np.abs(face.astype(np.float32) - shipped).mean() < 6.0, name


def test_the_small_faces_photo_gives_two_faces_searched_at_32_px():
  got = inputs.resolve(str(GROUP.with_name('small.jpg')), None, align=True, lr_size=0)
  assert len(got.names) == 2 and not got.skipped
  assert [len(x) for x in got.lr_images] == [32, 32]
