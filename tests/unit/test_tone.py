"""The skin-tone record of an input and its candidates (nam_jax/nam/tone.py), and the input
ranking (nam_jax/nam/rank.py) that looks at the input's own identity."""

import numpy as np
from PIL import Image

from nam_jax import skin
from nam_jax.nam import rank, tone


def _lr(face):
  return np.asarray(Image.fromarray(face).resize((16, 16), Image.BICUBIC))


def test_a_colour_input_decides_the_tone_and_the_record_says_so(faces):
  face = faces[0]
  record = tone.describe(tone.measure(_lr(face), np.stack([face, face[:, ::-1]])), [0, 1])
  assert record['decided'] and record['input_band'] == skin.band(record['input_ita'])
  assert record['top_gap'] < 10  # The face itself, enlarged from its own LR version.
  assert 'skin tone from the input' in record['note']
  assert len(record['candidates_ita']) == 2


def test_a_grey_input_is_undecided_and_the_note_gives_the_candidates_range(faces):
  face = faces[0]
  grey = np.repeat(face.mean(-1, keepdims=True), 3, -1).astype(np.uint8)
  warm = np.clip(face.astype(int) + [25, 5, -15], 0, 255).astype(np.uint8)
  record = tone.describe(tone.measure(_lr(grey), np.stack([face, warm])), [0, 1])
  assert not record['decided']
  lo, hi = record['range']
  assert lo < hi and 'does not decide the skin tone (the input has no colour)' in record['note']
  assert f'{lo:.0f} to {hi:.0f}' in record['note']


def test_nothing_to_say_without_candidates(faces):
  assert tone.describe(tone.measure(_lr(faces[0]), faces[:1]), []) == {}


def _aligned(photo):
  from nam_jax.data import align
  found = align.find_faces(photo)[0]
  return align.crop(photo, found.quad)


def test_the_input_ranking_puts_the_face_that_looks_like_the_input_first():
  """Two candidates that fit equally, two real aligned faces: the one whose identity is the
  input's comes first, for either input."""
  import pathlib
  import matplotlib
  from skimage import data
  from nam_jax.nam import groups
  hopper = pathlib.Path(matplotlib.get_data_path()) / 'sample_data' / 'grace_hopper.jpg'
  people = np.stack([_aligned(data.astronaut()),
                     _aligned(np.asarray(Image.open(hopper).convert('RGB')))])
  desc = groups.descriptors(people[None])
  loss = np.array([[0.05, 0.05]])
  for who in (0, 1):
    input_desc = rank.input_descriptors(_lr(people[who])[None])
    figures = rank.terms(desc, input_desc)
    assert np.argmin(rank.weighted(loss, figures, {'input': 1.0})[0]) == who
  assert rank.order(loss, desc, 'fit')[0, 0] == 0  # Ties keep the seed order.
  assert np.isinf(rank.weighted(np.array([[np.nan, 0.05]]), figures, {'input': 1.0})[0, 0])


def test_the_default_input_ranking_puts_the_candidate_that_keeps_the_tone_first(faces):
  """Equal fits: the candidate whose skin tone is the input's comes first; a darkened copy
  of the same face (the tone flipped) second."""
  face = faces[0]
  darker = (face.astype(np.float64) * 0.55).astype(np.uint8)
  cands = np.stack([darker, face])[None]
  gaps = tone.tone_gaps(_lr(face)[None], cands)
  assert gaps[0, 1] < gaps[0, 0]
  loss = np.array([[0.05, 0.05]])
  assert rank.order(loss, np.zeros((1, 2, 128)), 'input', tone_gaps=gaps)[0, 0] == 1
  assert rank.order(loss, np.zeros((1, 2, 128)), 'fit')[0, 0] == 0
