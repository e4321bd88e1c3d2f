"""Skin tone (nam_jax/skin.py): ITA of known colours, cheek placement, bands, the input's tone."""

import numpy as np
import pytest

from nam_jax import skin


def _patch(rgb) -> np.ndarray:
  return np.full((64, 64, 3), rgb, np.uint8)


def _points() -> np.ndarray:
  """68 landmarks of a typical aligned 64 px face (a rough mean face)."""
  pts = np.zeros((68, 2))
  pts[0:17] = np.stack([np.linspace(14, 50, 17), 30 + 18 * np.sin(np.linspace(0, np.pi, 17))],
                       -1)
  pts[27:36] = [[32, 28], [32, 31], [32, 34], [32, 37], [28, 39], [30, 40], [32, 40], [34, 40],
                [36, 39]]
  pts[36:42] = [[21, 29], [23, 28], [26, 28], [28, 29], [26, 30], [23, 30]]
  pts[42:48] = [[36, 29], [38, 28], [41, 28], [43, 29], [41, 30], [38, 30]]
  pts[48:68] = [[26, 46]] + [[32, 45]] * 5 + [[38, 46]] + [[32, 48]] * 13
  return pts


@pytest.mark.parametrize('rgb, lab_l, lab_b', [
    ((255, 255, 255), 100.0, 0.0), ((0, 0, 0), 0.0, 0.0), ((128, 128, 128), 53.6, 0.0)])
def test_lab_of_known_colours(rgb, lab_l, lab_b):
  lab = skin.cheek_lab(_patch(rgb), _points())
  assert lab[0] == pytest.approx(lab_l, abs=0.2)
  assert lab[2] == pytest.approx(lab_b, abs=0.2)


def test_ita_of_known_skin_patches():
  # ITA = atan((L - 50) / b): values computed from the patches' CIELAB by hand (D65 sRGB).
  from skimage import color
  for rgb in [(236, 200, 170), (198, 134, 66), (141, 85, 36), (60, 40, 30)]:
    l, _, b = color.rgb2lab(np.array(rgb, np.float64)[None, None] / 255)[0, 0]
    assert skin.ita(_patch(rgb), _points()) == pytest.approx(
        np.degrees(np.arctan((l - 50) / b)), abs=0.05)
  light, dark = skin.ita(_patch((236, 200, 170)), _points()), skin.ita(_patch((60, 40, 30)),
                                                                       _points())
  assert light > 41 and dark < -30
  assert skin.band(light) in ('light', 'very light') and skin.band(dark) == 'dark'


def test_grey_has_no_tone():
  assert np.isnan(skin.ita(_patch((120, 120, 120)), _points()))
  assert skin.band(float('nan')) == 'no colour'
  assert np.isnan(skin.angle_error(float('nan'), 10.0))


def test_bands_cover_the_line_at_their_edges():
  assert [skin.band(a) for a in (56, 55, 41, 28, 10, -30, -31)] == [
      'very light', 'light', 'intermediate', 'tan', 'brown', 'dark', 'dark']


def test_only_the_cheeks_count():
  face = _patch((236, 200, 170))
  mask = skin.cheek_mask(_points(), 64)
  assert 20 < mask.sum() < 400  # Two small discs.
  face[~mask] = (20, 60, 200)   # Everything but the cheeks painted blue: the tone holds.
  assert skin.ita(face, _points()) == pytest.approx(skin.ita(_patch((236, 200, 170)),
                                                               _points()), abs=1e-6)


def test_band_table_on_a_tiny_set():
  truth = np.array([60.0, 45.0, 20.0, 25.0, np.nan])
  table = skin.band_table(truth, {'err': np.array([1.0, 2.0, 3.0, 5.0, np.nan]),
                                  'kept': np.array([1, 0, 1, 1, 0])})
  assert table['very light'] == {'faces': 1, 'err': 1.0, 'kept': 1.0}
  assert table['tan'] == {'faces': 2, 'err': 4.0, 'kept': 1.0}
  assert table['no colour']['faces'] == 1 and np.isnan(table['no colour']['err'])
  assert table['all']['faces'] == 5 and table['all']['err'] == pytest.approx(2.75)
  assert 'dark' not in table


def test_input_tone_says_when_the_input_does_not_decide():
  lr = np.full((16, 16, 3), (198, 134, 66), np.uint8)
  decided = skin.input_tone(lr, _points())
  assert decided['decided'] and decided['band'] == skin.band(decided['ita'])
  grey = skin.input_tone(np.full((16, 16, 3), 100, np.uint8), _points())
  assert not grey['decided'] and 'no colour' in grey['why']
  dark = skin.input_tone(np.full((16, 16, 3), (30, 20, 14), np.uint8), _points())
  assert not dark['decided'] and 'too dark' in dark['why']
