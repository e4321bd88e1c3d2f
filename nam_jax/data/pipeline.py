"""Deterministic training batches: float32 NHWC in [-1, 1], shuffled and flipped from a seed.

Built on grain's MapDataset, which has random access: batch k of a run is `dataset[k]`, so a
resumed run continues with exactly the batch an uninterrupted run would have used.
"""

from __future__ import annotations

from typing import Any, Protocol

import grain
import numpy as np

from nam_jax.images import to_float


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


def training_batches(source: ImageSource, batch_size: int, seed: int, flip: bool = True,
                     shard: tuple[int, int] = (0, 1)) -> grain.MapDataset:
  """An endless, indexable dataset of [batch_size, H, W, C] float32 batches.

  Every epoch is reshuffled; the order and the flips depend only on `seed`.
  shard=(index, count): process `index` of `count` in a multi-process job gets only its
  share of every batch, [batch_size / count, ...]: item k is the index-th of the count equal
  slices of the one-process batch k, so the processes' shares, side by side, are exactly the
  batches of a one-process run with the same seed.
  """
  if len(source) < batch_size:
    raise ValueError(f'dataset has {len(source)} images, fewer than one batch of {batch_size}')
  return shard_batches(_examples(source, seed, flip), batch_size, shard)


def _examples(source: ImageSource, seed: int, flip: bool) -> grain.MapDataset:
  ds = grain.MapDataset.source(source).map(to_float).shuffle(seed=seed).repeat()
  return ds.random_map(_random_flip, seed=seed + 1) if flip else ds


def shard_batches(examples: grain.MapDataset, batch_size: int,
                  shard: tuple[int, int] = (0, 1)) -> grain.MapDataset:
  """Batches of an endless example dataset, or one process's share of each (see
  training_batches)."""
  index, count = shard
  if batch_size % count or not 0 <= index < count:
    raise ValueError(f'a batch of {batch_size} does not split into {count} process shares')
  if count == 1:
    return examples.batch(batch_size, drop_remainder=True)
  return examples.batch(batch_size // count, drop_remainder=True)[index::count]

