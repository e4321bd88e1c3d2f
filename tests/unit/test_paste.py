"""Faces pasted back into their photo (nam_jax/nam/paste.py) and the composite --align writes."""

import html
import json
import pathlib

import numpy as np
import pytest

from nam_jax.data import align
from nam_jax.nam import inputs as inputs_lib
from nam_jax.nam import paste, report

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _photo(h=200, w=260):
  """A smooth, everywhere-textured test photo (uint8 [h, w, 3])."""
  y, x = np.mgrid[0:h, 0:w] / 9.0
  rgb = np.stack([np.sin(x) * np.cos(y * 0.7), np.sin(x * 0.6 + y), np.cos(x * 0.3 - y * 0.9)],
                 -1)
  return ((rgb * 0.5 + 0.5) * 255).round().astype(np.uint8)


def _rotated_square(centre, side, angle):
  c, s = np.cos(angle), np.sin(angle)
  x, y = np.array([c, s]) * side / 2, np.array([-s, c]) * side / 2
  centre = np.asarray(centre, np.float64)
  return np.stack([centre - x - y, centre - x + y, centre + x + y, centre + x - y])


@pytest.mark.parametrize('scale', [1.0, 2.0])
def test_the_inverse_warp_puts_a_crop_back_where_it_was(scale):
  """A rotated square cropped as --align crops it (align.crop) and warped back lands on the
  photo's own pixels: its error is a fraction of what a one-pixel shift would cost."""
  photo = _photo()
  quad = _rotated_square((130, 100), 110, 0.3)
  crop = align.crop(photo, quad, 256).astype(np.float64)
  canvas = paste.upscale_photo(photo, scale).astype(np.float64)
  (y0, y1, x0, x1), warped, mask = paste.warp_back(crop, quad, canvas.shape[:2], scale)
  ref = canvas[y0:y1, x0:x1]
  inner = mask > 0.99
  assert inner.sum() > 0.15 * (110 * scale) ** 2
  err = np.abs(warped - ref)[inner].mean()
  shifted = np.abs(np.roll(warped, 1, axis=1) - ref)[inner].mean()
  assert err < 1.5 and err < shifted / 2, (err, shifted)  # Measured: 0.50 and 0.58 levels.
  ab = paste.unit_coordinates(quad, quad)
  np.testing.assert_allclose(ab, [[0, 0], [0, 1], [1, 1], [1, 0]], atol=1e-9)


def test_the_composite_changes_only_the_faces_and_blends_without_a_step():
  photo = _photo()
  quad = _rotated_square((130, 100), 64, -0.2)
  face = np.full((64, 64, 3), 40, np.uint8)
  out, scale = paste.composite(photo, [(face, quad)], size=128)
  assert scale == pytest.approx(2.0) and out.shape == (400, 520, 3)
  plain = paste.upscale_photo(photo, scale)
  far = np.ones(out.shape[:2], bool)
  far[120:280, 150:370] = False  # Well around the square (x 2).
  np.testing.assert_array_equal(out[far], plain[far])
  assert np.abs(out.astype(int) - plain).max() > 20  # The face is there.
  # The feathered mask: along a line out of the face centre no step is larger than a fraction
  # of the face-to-photo difference.
  line = out[200, 260:380].astype(float).mean(-1)
  assert np.abs(np.diff(line)).max() < 0.35 * np.abs(line[0] - line[-1]) + 12


def test_picks_parse_and_refuse_malformed_entries():
  assert paste.parse_picks('group_face0:2,a:b:0') == {'group_face0': 2, 'a:b': 0}
  assert paste.parse_picks('') == {}
  for bad in ('group_face0', 'x:-1', ':3', 'x:two'):
    with pytest.raises(ValueError, match='FACE:RANK'):
      paste.parse_picks(bad)


def test_align_writes_one_composite_per_photo_with_the_picked_candidates(tmp_path):
  """report.write on the bundled group photo: composite.png at the photo x its scale, the
  skipped face left as it was, --pick honoured and listed in results.json."""
  inp = inputs_lib.resolve(str(ROOT / 'examples' / 'photos' / 'group.jpg'), data_cfg=None,
                           align=True)
  n = len(inp.names)
  rng = np.random.default_rng(0)
  result = {'hr': rng.uniform(-1, 1, (n, 3, 64, 64, 3)).astype(np.float32),
            'lr': rng.uniform(-1, 1, (n, 3, 16, 16, 3)).astype(np.float32),
            'loss': np.tile(np.array([0.1, 0.2, 0.3], np.float32), (n, 1)),
            'history': np.ones((n, 3, 2), np.float32), 'seconds': 1.0}
  out = tmp_path / 'out'
  with report.staged(out) as staging:
    report.write(staging, inp, result, {}, picks={inp.names[1]: 2})
    report.commit(staging, out)
  summary = json.loads((out / 'results.json').read_text())
  (c,) = summary['composites']
  assert c['photo'] == 'group' and [f['rank'] for f in c['faces']] == [0, 2, 0][:n]
  from PIL import Image
  image = np.asarray(Image.open(out / c['path']))
  photo = inp.photos['group']
  assert image.shape[:2] == tuple(round(d * c['scale']) for d in photo.shape[:2])
  skipped = align.find_faces(photo)[1]  # Too small to align: stays the photo's own.
  assert skipped.problem
  l, t, r, b = (np.array(skipped.box) * c['scale']).round().astype(int)
  plain = paste.upscale_photo(photo, c['scale'])
  np.testing.assert_array_equal(image[t:b, l:r], plain[t:b, l:r])
  np.testing.assert_array_equal(np.asarray(Image.open(out / c['before'])), plain)  # Before.
  sides = [align.square_side(pl.quad) for pl in inp.placements]  # Face sizes in the photo.
  page = (out / 'index.html').read_text()
  for entry, side in zip(summary['inputs'], sides):
    assert entry['photo_side'] == pytest.approx(side, abs=0.06)
    assert ('photo_note' in entry) == (side >= 64)  # Larger than the output: said so.
    assert ('photo_note' not in entry) or html.escape(entry['photo_note']) in page
  assert any(s >= 64 for s in sides) and any(s < 64 for s in sides)  # Both cases seen.


def test_a_face_larger_in_its_photo_than_the_output_is_said_to_be():
  small, large = _rotated_square((50, 50), 40, 0.3), _rotated_square((50, 50), 170, 0.3)
  assert report.photo_face(small, 64) == {'photo_side': 40.0}
  big = report.photo_face(large, 64)
  assert big['photo_side'] == 170.0 and '170 px' in big['photo_note']
  assert 'photo_note' not in report.photo_face(large, 256)  # A 256 px output holds more.


def test_a_face_pasted_at_4x_reduces_back_to_the_photo_s_own_face():
  """The paste round trip: a candidate that is the photo's face itself, rendered at 4x its side
  (the crop at 128 px of a 32 px face), pasted into the photo enlarged 4x; the composite reduced
  back to the photo's scale reproduces the photo under the face's mask within a few levels (a
  search's candidate is off by its own LR fit on top of this)."""
  from PIL import Image
  photo = _photo()
  quad = _rotated_square((130, 100), 32, 0.25)
  candidate = align.crop(photo, quad, 128)
  out, scale = paste.composite(photo, [(candidate, quad)], size=128)
  assert scale == pytest.approx(4.0) and out.shape == (800, 1040, 3)
  back = np.asarray(Image.fromarray(out).resize(photo.shape[1::-1], Image.BOX), np.float64)
  ys, xs = np.mgrid[0:photo.shape[0], 0:photo.shape[1]]
  mask = paste.oval_mask(paste.unit_coordinates(quad, np.stack([xs, ys], -1) + 0.5))
  inner = mask > 0.5
  assert inner.sum() > 200
  err = np.abs(back - photo)[inner].mean()
  wrong = np.abs(np.roll(photo.astype(float), 2, axis=1) - photo)[inner].mean()
  assert err < 3.0 and err < wrong / 3, (err, wrong)  # Measured: 0.16 and 6.3 levels.
