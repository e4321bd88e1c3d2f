"""Deterministic training batches: float32 NHWC in [-1, 1], shuffled and flipped from a seed.

Built on grain's MapDataset, which has random access: batch k of a run is `dataset[k]`, so a
resumed run continues with exactly the batch an uninterrupted run would have used.
"""

from __future__ import annotations

from typing import Any, Protocol

import grain
import numpy as np

from nam_jax.images import to_float, to_uint8  # noqa: F401  (pipeline's own API too)


class ImageSource(Protocol):
  def __len__(self) -> int: ...
  def __getitem__(self, index: int) -> Any: ...


class FieldSource:
  """Picks one field of a dict-valued source (e.g. 'image' of a TFDS data source)."""

  def __init__(self, source: ImageSource, field: str):
    self._source, self._field = source, field

  def __len__(self) -> int:
    return len(self._source)

  def __getitem__(self, index: int) -> np.ndarray:
    return self._source[index][self._field]


def _random_flip(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
  return image[:, ::-1] if rng.random() < 0.5 else image


def training_batches(source: ImageSource, batch_size: int, seed: int,
                     flip: bool = True) -> grain.MapDataset:
  """An endless, indexable dataset of [batch_size, H, W, C] float32 batches.

  Every epoch is reshuffled; the order and the flips depend only on `seed`.
  """
  if len(source) < batch_size:
    raise ValueError(f'dataset has {len(source)} images, fewer than one batch of {batch_size}')
  ds = grain.MapDataset.source(source).map(to_float).shuffle(seed=seed).repeat()
  if flip:
    ds = ds.random_map(_random_flip, seed=seed + 1)
  return ds.batch(batch_size, drop_remainder=True)

