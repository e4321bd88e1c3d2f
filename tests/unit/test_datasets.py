"""Synthetic TFDS datasets, the training pipeline, and the real-dataset adapters."""

import chex
import numpy as np
import pytest
import tensorflow_datasets as tfds

from nam_jax.data import camera_sim as simulate
from nam_jax.data import datasets, pipeline, splits, tfds_faces


def test_synthetic_splits_shapes_and_disjoint_seeds(test_config):
  d = test_config.data
  hr_train = datasets.hr_source(d, 'train')
  hr_test = datasets.hr_source(d, 'test')
  lr_train = datasets.lr_source(d, 'train')
  assert (len(hr_train), len(hr_test), len(lr_train)) == (d.hr_train, d.hr_test, d.lr_train)
  assert hr_train[0].shape == (64, 64, 3) and hr_train[0].dtype == np.uint8
  assert lr_train[0].shape == (16, 16, 3) and lr_train[0].dtype == np.uint8
  b = datasets.synthetic_builders(d)
  seeds = {
      'hr_train': {int(x['seed']) for x in b['hr'].as_data_source('train')},
      'hr_test': {int(x['seed']) for x in b['hr'].as_data_source('test')},
      'lr_train': {int(x['seed']) for x in b['lr_train'].as_data_source('train')},
      'lr_test': {int(x['seed']) for x in b['lr_test'].as_data_source('test')},
  }
  for name, s in seeds.items():
    assert s == set(splits.seed_range(name, len(s)))
  names = list(seeds)
  for i, a in enumerate(names):
    for other in names[i + 1:]:
      assert not seeds[a] & seeds[other], (a, other)


def test_unpaired_train_has_no_hr_and_paired_test_has_ground_truth(test_config):
  b = datasets.synthetic_builders(test_config.data)
  assert set(b['lr_train'].info.features.keys()) == {'lr', 'seed'}
  pairs = datasets.lr_test_pairs(test_config.data)
  n = test_config.data.lr_test
  chex.assert_shape([pairs['lr'], pairs['hr'], pairs['params']],
                    [(n, 16, 16, 3), (n, 64, 64, 3), (n, len(simulate.PARAM_NAMES))])
  # The stored LR face is exactly the camera pipeline applied to the stored HR source.
  lr, params = simulate.degrade_face(pairs['hr'][0], int(pairs['seed'][0]))
  np.testing.assert_array_equal(lr, pairs['lr'][0])
  np.testing.assert_array_equal(params, pairs['params'][0])


def test_batches_shape_dtype_range_and_determinism(test_config):
  src = datasets.hr_source(test_config.data, 'train')
  a = pipeline.training_batches(src, batch_size=4, seed=5)
  b = pipeline.training_batches(src, batch_size=4, seed=5)
  c = pipeline.training_batches(src, batch_size=4, seed=6)
  x = a[0]
  chex.assert_shape(x, (4, 64, 64, 3))
  chex.assert_type(x, np.float32)
  assert x.min() >= -1.0 and x.max() <= 1.0 and x.max() > 0.5 and x.min() < -0.5
  for k in (0, 3, 10):  # Same seed -> same batch, at any step (also after the first epoch).
    np.testing.assert_array_equal(a[k], b[k])
  assert not np.array_equal(a[0], c[0])
  # Epochs are reshuffled: batch 0 of epoch 2 differs from batch 0 of epoch 1.
  assert not np.array_equal(a[0], a[len(src) // 4])


def test_flip_augmentation_flips_some_images(test_config):
  src = datasets.ArraySource(np.stack([datasets.hr_source(test_config.data, 'train')[0]] * 32))
  batch = pipeline.training_batches(src, batch_size=32, seed=0)[0]
  ref = pipeline.to_float(src[0])
  flipped = sum(np.array_equal(im, ref[:, ::-1]) for im in batch)
  plain = sum(np.array_equal(im, ref) for im in batch)
  assert flipped + plain == 32 and 4 < flipped < 28
  no_flip = pipeline.training_batches(src, batch_size=32, seed=0, flip=False)[0]
  assert all(np.array_equal(im, ref) for im in no_flip)


def test_too_small_dataset_is_a_clear_error():
  with pytest.raises(ValueError, match='fewer than one batch'):
    pipeline.training_batches(datasets.ArraySource(np.zeros((3, 4, 4, 3), np.uint8)), 4, 0)


def test_unknown_source_is_a_clear_error(test_config):
  cfg = test_config.data.copy_and_resolve_references()
  cfg.source = 'webcam'
  with pytest.raises(ValueError, match='data.source'):
    datasets.hr_source(cfg, 'train')


def test_celeb_a_adapter_on_mock_data():
  with tfds.testing.mock_data(num_examples=4, policy=tfds.testing.MockPolicy.USE_CODE):
    faces = tfds_faces.CelebAFaces('train', size=64)
    assert len(faces) == 4
    im = faces[1]
  assert im.shape == (64, 64, 3) and im.dtype == np.uint8


def test_wider_face_adapter_on_mock_data():
  with tfds.testing.mock_data(num_examples=6, policy=tfds.testing.MockPolicy.USE_CODE):
    crops = tfds_faces.wider_face_crops('train', size=16, min_box=1)
  assert crops.ndim == 4 and crops.shape[1:] == (16, 16, 3) and crops.dtype == np.uint8
  assert len(crops) >= 1


def test_tfds_source_in_config_uses_the_adapters():
  from configs import test as test_cfg
  cfg = test_cfg.get_config().data
  cfg.source = 'tfds'
  with tfds.testing.mock_data(num_examples=5, policy=tfds.testing.MockPolicy.USE_CODE):
    hr = datasets.hr_source(cfg, 'train')
    lr = datasets.lr_source(cfg, 'train')
    assert hr[0].shape == (64, 64, 3) and lr[0].shape == (16, 16, 3)


def test_preview_grids_are_written(test_config, tmp_path):
  from PIL import Image
  from nam_jax.data import preview
  paths = preview.write_previews(test_config.data, tmp_path, n=4)
  assert [p.name for p in paths] == ['hr_faces.png', 'lr_train_faces.png', 'lr_test_pairs.png']
  for p in paths:
    im = np.asarray(Image.open(p))
    assert im.ndim == 3 and im.shape[2] == 3 and im.shape[0] > 64
