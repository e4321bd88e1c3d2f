"""One entry point from a config to face images: HR (64x64) and LR (16x16) sources by split.

Every source returned here is random-access and yields uint8 HWC RGB images; the training
pipeline (pipeline.py) turns them into float batches.
"""

from __future__ import annotations

import numpy as np
from tqdm import tqdm

from nam_jax.data import folder as folder_lib
from nam_jax.data import pipeline
from nam_jax.data import synthetic_tfds

SOURCES = ('synthetic', 'folder', 'tfds')


def _data_dir(data_cfg):
  return data_cfg.data_dir or None


def _check_source(data_cfg) -> None:
  if data_cfg.source not in SOURCES:
    raise ValueError(f'config.data.source must be one of {SOURCES}, got {data_cfg.source!r}')


def _hr_builder(data_cfg):
  return synthetic_tfds.hr_builder(data_cfg.hr_train, data_cfg.hr_test, data_cfg.truncation,
                              _data_dir(data_cfg))


def _lr_builder(data_cfg, paired: bool):
  num = data_cfg.lr_test if paired else data_cfg.lr_train
  return synthetic_tfds.lr_builder(num, paired, data_cfg.truncation, _data_dir(data_cfg))


def synthetic_builders(data_cfg) -> dict:
  return {'hr': _hr_builder(data_cfg), 'lr_train': _lr_builder(data_cfg, False),
          'lr_test': _lr_builder(data_cfg, True)}


def prepare(data_cfg, which=('hr', 'lr_train', 'lr_test')) -> None:
  """Renders and writes the synthetic datasets a config names, skipping finished ones."""
  _check_source(data_cfg)
  if data_cfg.source != 'synthetic':
    tqdm.write(f'data.source={data_cfg.source}: nothing to prepare.')
    return
  for key, builder in synthetic_builders(data_cfg).items():
    if key in which and not builder.is_prepared():
      tqdm.write(f'preparing {builder.info.full_name} under {builder.data_dir}')
      synthetic_tfds.prepare(builder)


class ArraySource:
  """A numpy array as an image source."""

  def __init__(self, images: np.ndarray):
    self.images = images

  def __len__(self) -> int:
    return len(self.images)

  def __getitem__(self, index: int) -> np.ndarray:
    return self.images[index]


def _folder_split(images: np.ndarray, split: str) -> np.ndarray:
  """Folders have no splits: the last 10% (at least one image) is the test split."""
  n_test = max(1, len(images) // 10) if len(images) > 1 else 0
  return images[:len(images) - n_test] if split == 'train' else images[len(images) - n_test:]


def hr_source(data_cfg, split: str, auto_prepare: bool = True):
  """uint8 [64, 64, 3] HR faces of a split ('train' or 'test')."""
  _check_source(data_cfg)
  if data_cfg.source == 'synthetic':
    if auto_prepare:
      prepare(data_cfg, which=('hr',))
    builder = _hr_builder(data_cfg)  # Made after prepare(): it reads the finished splits.
    return pipeline.FieldSource(synthetic_tfds.require(builder, split), 'image')
  if data_cfg.source == 'folder':
    images, _, _ = folder_lib.load_folder(data_cfg.hr_folder, data_cfg.hr_size)
    return ArraySource(_folder_split(images, split))
  from nam_jax.data import tfds_faces
  return tfds_faces.CelebAFaces(split, data_cfg.hr_size, _data_dir(data_cfg))


def hr_records(data_cfg, split: str):
  """The synthetic HR split as records {'image': uint8 [64, 64, 3], 'seed': int}: each face
  with the seed it was rendered from (what the StyleGAN head is distilled on)."""
  if data_cfg.source != 'synthetic':
    raise ValueError('seeded HR faces exist only for data.source=synthetic')
  prepare(data_cfg, which=('hr',))
  return synthetic_tfds.require(_hr_builder(data_cfg), split)


def lr_source(data_cfg, split: str, auto_prepare: bool = True):
  """uint8 [16, 16, 3] real-world LR faces of a split (unpaired for 'train')."""
  _check_source(data_cfg)
  if data_cfg.source == 'synthetic':
    paired = split == 'test'
    if auto_prepare:
      prepare(data_cfg, which=('lr_test' if paired else 'lr_train',))
    builder = _lr_builder(data_cfg, paired)
    return pipeline.FieldSource(synthetic_tfds.require(builder, split), 'lr')
  if data_cfg.source == 'folder':
    images, _, _ = folder_lib.load_folder(data_cfg.lr_folder, data_cfg.lr_size)
    return ArraySource(_folder_split(images, split))
  from nam_jax.data import tfds_faces
  return ArraySource(tfds_faces.wider_face_crops(
      'validation' if split == 'test' else 'train', data_cfg.lr_size,
      data_dir=_data_dir(data_cfg)))


def lr_test_pairs(data_cfg, limit: int | None = None) -> dict:
  """The paired synthetic LR test split as arrays: lr, hr, params, seed."""
  if data_cfg.source != 'synthetic':
    raise ValueError('Paired LR/HR test data exists only for data.source=synthetic.')
  prepare(data_cfg, which=('lr_test',))
  src = synthetic_tfds.require(_lr_builder(data_cfg, True), 'test')
  n = len(src) if limit is None else min(limit, len(src))
  rows = [src[i] for i in range(n)]
  return {k: np.stack([r[k] for r in rows]) for k in ('lr', 'hr', 'params', 'seed')}


def take(source, n: int) -> np.ndarray:
  """The first n images of a source as one uint8 array."""
  return np.stack([source[i] for i in range(min(n, len(source)))])
