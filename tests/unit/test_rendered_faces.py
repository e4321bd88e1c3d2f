"""The offline face generator: deterministic, correct shapes, resumable shard cache."""

import numpy as np
import pytest

from nam_jax.data import rendered_faces, splits


@pytest.fixture(scope='module')
def synth():
  return rendered_faces.synthesizer(0.7)


def test_render_shape_dtype_and_determinism(synth):
  a = synth.render(7, size=64)
  b = synth.render(7, size=64)
  c = synth.render(8, size=64)
  assert a.shape == (64, 64, 3) and a.dtype == np.uint8
  np.testing.assert_array_equal(a, b)
  assert np.abs(a.astype(int) - c.astype(int)).mean() > 10  # Another seed, another face.
  assert 40 < a.mean() < 220  # A face, not a blank frame.


def test_split_seed_ranges_are_disjoint():
  ranges = [set(splits.seed_range(s, 1000)) for s in splits.SEED_OFFSETS]
  for i in range(len(ranges)):
    for j in range(i + 1, len(ranges)):
      assert not ranges[i] & ranges[j]
  with pytest.raises(ValueError):
    splits.seed_range('hr_train', splits.MAX_SPLIT_SIZE + 1)
  with pytest.raises(KeyError):
    splits.seed_range('val', 3)


def test_interrupted_generation_resumes_without_redoing_shards(tmp_path, monkeypatch):
  calls = []

  class FakeSynth:
    def __init__(self, truncation):
      pass

    def render(self, seed, size=64):
      calls.append(seed)
      if len(calls) == 5:
        raise KeyboardInterrupt  # Killed in the middle of the third shard.
      return np.full((size, size, 3), seed % 255, np.uint8)

  monkeypatch.setattr(rendered_faces, 'synthesizer', FakeSynth)
  with pytest.raises(KeyboardInterrupt):
    rendered_faces.ensure_faces(100, 6, cache_dir=tmp_path, shard_size=2, progress=False)
  done = sorted(p.name for p in tmp_path.rglob('*.npy'))
  assert done == ['seeds_00000100_00002.npy', 'seeds_00000102_00002.npy']
  assert not list(tmp_path.rglob('*.tmp*'))  # No half-written shard is left behind.
  calls.clear()
  paths = rendered_faces.ensure_faces(100, 6, cache_dir=tmp_path, shard_size=2, progress=False)
  assert calls == [104, 105]  # Only the missing shard is rendered.
  faces = rendered_faces.load_faces(paths)
  assert faces.shape == (6, 64, 64, 3)
  np.testing.assert_array_equal(faces[:, 0, 0, 0], np.arange(100, 106))
