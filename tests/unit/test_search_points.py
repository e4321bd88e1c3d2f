"""The search's end points as head training data (nam_jax/stylegan/search_points.py) and the
head trainer's use of them."""

import chex
import ml_collections
import numpy as np
import pytest

from nam_jax.data import other_cameras
from nam_jax.stylegan import model as msg, search_points, train_head


def _fake_points(out_dir, faces=3, seeds=2, seed=0):
  """Shards of random W+ latents and faces, one shard per face."""
  rng = np.random.default_rng(seed)
  for f in range(faces):
    np.savez(search_points.shard_path(out_dir, f, 1),
             w=rng.normal(size=(seeds, msg.NUM_STYLES, msg.STYLE_DIM)).astype(np.float32),
             image=rng.integers(0, 256, (seeds, 64, 64, 3), dtype=np.uint8),
             face=np.full(seeds, f), kind=np.array(['bicubic'] * seeds),
             loss=np.ones(seeds, np.float32))


def test_end_points_load_in_face_order_and_hold_out_the_last_faces(tmp_path):
  _fake_points(tmp_path, faces=3, seeds=2)
  (tmp_path / 'points_00009_001.tmp.npz').write_bytes(b'an unfinished shard')
  points = search_points.load(tmp_path)
  chex.assert_shape(points['w'], (6, msg.NUM_STYLES, msg.STYLE_DIM))
  np.testing.assert_array_equal(points['face'], [0, 0, 1, 1, 2, 2])
  train, test = search_points.split_by_face(points, 1)
  np.testing.assert_array_equal(train['face'], [0, 0, 1, 1])
  np.testing.assert_array_equal(test['face'], [2, 2])
  np.testing.assert_array_equal(test['w'], points['w'][4:])
  assert len(search_points.split_by_face(points, 0)[1]['w']) == 0
  with pytest.raises(FileNotFoundError, match='no search end points'):
    search_points.load(tmp_path / 'empty')


def test_w_latents_become_w_plus_rows_and_inputs_are_moved_and_never_of_the_held_out_kind():
  w = np.arange(2 * 3 * 512, dtype=np.float32).reshape(2, 3, 512)
  plus = search_points.as_w_plus(w)
  chex.assert_shape(plus, (2, 3, msg.NUM_STYLES, 512))
  np.testing.assert_array_equal(plus[:, :, 7], w)
  assert search_points.as_w_plus(plus) is plus
  assert other_cameras.HELD_OUT not in search_points.KINDS
  hr = np.random.default_rng(0).integers(0, 256, (len(search_points.KINDS) + 1, 64, 64, 3),
                                        dtype=np.uint8)
  moved = search_points.off_the_prior(hr[0], 7)
  np.testing.assert_array_equal(moved, search_points.off_the_prior(hr[0], 7))
  assert moved.shape == (64, 64, 3) and moved.dtype == np.uint8
  assert not np.array_equal(moved, search_points.off_the_prior(hr[0], 8))
  lr, kinds = search_points.lr_faces(hr, 3)
  chex.assert_shape(lr, (len(hr), 16, 16, 3))
  assert set(kinds) == set(search_points.KINDS) and kinds[0] == kinds[-1]


def test_the_head_trainer_mixes_end_points_into_each_batch_and_refuses_bad_ones(tmp_path):
  cfg = ml_collections.ConfigDict(dict(points='', points_share=0.5, points_test_faces=1,
                                       batch_size=4))
  assert train_head.batch_shares(cfg) == (4, 0) and train_head.points_of(cfg) is None
  _fake_points(tmp_path, faces=2, seeds=2)
  cfg.points = str(tmp_path)
  assert train_head.batch_shares(cfg) == (2, 2)
  train, test = train_head.points_of(cfg)
  assert len(train['w']) == 2 and len(test['w']) == 2
  cfg.points_test_faces = 2
  with pytest.raises(ValueError, match='no end points left'):
    train_head.points_of(cfg)
  cfg.points_share = 1.0
  with pytest.raises(ValueError, match='points_share'):
    train_head.points_of(cfg)
  cfg.update(points=str(tmp_path / 'missing'), points_share=0.5)
  with pytest.raises(FileNotFoundError, match='missing'):
    train_head.points_of(cfg)
