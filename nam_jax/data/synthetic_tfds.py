"""TFDS builders of the embedded default datasets: synthetic HR faces and "real-world" LR faces.

Both write array_record files and are read with `as_data_source` (random access, no
TensorFlow needed). Sizes are part of the builder config name, so datasets of different sizes
live side by side under one data_dir:

  synthetic_faces_hr/n{train}_{test}_psi{psi}   splits train, test: {image 64x64x3, seed}
  synthetic_faces_lr/unpaired_n{num}            split train: {lr 16x16x3, seed}
  synthetic_faces_lr/paired_n{num}              split test:  {lr, hr 64x64x3, params, seed}

The LR faces come from seeds disjoint from the HR faces (see splits.py). The unpaired train
split holds LR images only; the paired test split keeps each LR face's HR source and the
sampled camera parameters, as ground truth for evaluation.
"""

from __future__ import annotations

import dataclasses
import pathlib

import numpy as np
import tensorflow_datasets as tfds

from nam_jax.data import camera_sim as simulate
from nam_jax.data import rendered_faces
from nam_jax.data import splits

HR_SIZE = 64
LR_SIZE = 16


def default_data_dir() -> pathlib.Path:
  return rendered_faces.default_cache_dir() / 'tfds'


def _uint8_image(size: int) -> tfds.features.Tensor:
  return tfds.features.Tensor(shape=(size, size, 3), dtype=np.uint8)


def _faces(split: str, num: int, truncation: float):
  """Yields (seed, uint8 HR face) for the first `num` faces of a split, rendering as needed."""
  seeds = splits.seed_range(split, num)
  paths = rendered_faces.ensure_faces(seeds.start, num, size=HR_SIZE, truncation=truncation,
                                  desc=f'render {split}')
  seed = seeds.start
  for path in paths:
    for face in np.load(path):
      yield seed, face
      seed += 1


@dataclasses.dataclass
class HrConfig(tfds.core.BuilderConfig):
  num_train: int = 0
  num_test: int = 0
  truncation: float = 0.7


class SyntheticFacesHr(tfds.core.GeneratorBasedBuilder):
  """Aligned 64x64 faces rendered from integer seeds (MobileStyleGAN, FFHQ)."""

  VERSION = tfds.core.Version('1.0.0')

  def _info(self) -> tfds.core.DatasetInfo:
    return tfds.core.DatasetInfo(
        builder=self,
        description='Synthetic aligned 64x64 faces, one per integer seed.',
        features=tfds.features.FeaturesDict({
            'image': _uint8_image(HR_SIZE),
            'seed': tfds.features.Scalar(dtype=np.int64),
        }))

  def _split_generators(self, dl_manager):
    del dl_manager  # Nothing is downloaded: faces are rendered locally.
    cfg = self.builder_config
    return {'train': self._generate_examples('hr_train', cfg.num_train),
            'test': self._generate_examples('hr_test', cfg.num_test)}

  def _generate_examples(self, split: str, num: int):
    for seed, face in _faces(split, num, self.builder_config.truncation):
      yield int(seed), {'image': face, 'seed': seed}


@dataclasses.dataclass
class LrConfig(tfds.core.BuilderConfig):
  num: int = 0
  paired: bool = False
  truncation: float = 0.7


class SyntheticFacesLr(tfds.core.GeneratorBasedBuilder):
  """16x16 faces degraded by the randomised camera pipeline of nam_jax/data/camera_sim.py."""

  VERSION = tfds.core.Version('1.0.0')

  def _info(self) -> tfds.core.DatasetInfo:
    features = {'lr': _uint8_image(LR_SIZE), 'seed': tfds.features.Scalar(dtype=np.int64)}
    if self.builder_config.paired:
      features['hr'] = _uint8_image(HR_SIZE)
      features['params'] = tfds.features.Tensor(
          shape=(len(simulate.PARAM_NAMES),), dtype=np.float32)
    return tfds.core.DatasetInfo(
        builder=self,
        description=('Real-world-like 16x16 faces. Camera parameters, in order: ' +
                     ', '.join(simulate.PARAM_NAMES)),
        features=tfds.features.FeaturesDict(features))

  def _split_generators(self, dl_manager):
    del dl_manager
    cfg = self.builder_config
    if cfg.paired:
      return {'test': self._generate_examples('lr_test', cfg.num)}
    return {'train': self._generate_examples('lr_train', cfg.num)}

  def _generate_examples(self, split: str, num: int):
    paired = self.builder_config.paired
    for seed, face in _faces(split, num, self.builder_config.truncation):
      lr, params = simulate.degrade_face(face, seed, LR_SIZE)
      example = {'lr': lr, 'seed': seed}
      if paired:
        example.update(hr=face, params=params)
      yield int(seed), example


def _builder(cls, config, data_dir) -> tfds.core.DatasetBuilder:
  return cls(config=config, data_dir=str(data_dir or default_data_dir()),
             file_format='array_record')


def hr_builder(num_train: int, num_test: int, truncation: float = 0.7,
               data_dir: str | pathlib.Path | None = None) -> SyntheticFacesHr:
  name = f'n{num_train}_{num_test}_psi{truncation:.2f}'.replace('.', 'p')
  return _builder(SyntheticFacesHr, HrConfig(name=name, num_train=num_train,
                                             num_test=num_test, truncation=truncation),
                  data_dir)


def lr_builder(num: int, paired: bool, truncation: float = 0.7,
               data_dir: str | pathlib.Path | None = None) -> SyntheticFacesLr:
  name = f'{"paired" if paired else "unpaired"}_n{num}_psi{truncation:.2f}'.replace('.', 'p')
  return _builder(SyntheticFacesLr, LrConfig(name=name, num=num, paired=paired,
                                             truncation=truncation), data_dir)


def prepare(builder: tfds.core.DatasetBuilder) -> tfds.core.DatasetBuilder:
  """Generates the dataset if it is not there yet (resumable through the face cache)."""
  builder.download_and_prepare(
      download_config=tfds.download.DownloadConfig(try_download_gcs=False))
  return builder


def require(builder: tfds.core.DatasetBuilder, split: str):
  """The data source of a prepared split, or a one-line error saying how to make it."""
  if not builder.is_prepared():
    raise FileNotFoundError(
        f'Dataset {builder.info.full_name} is not prepared under {builder.data_dir}: run '
        '`python prepare_data.py --config=<the same config>` first.')
  return builder.as_data_source(split)
