"""Seed ranges of the synthetic face splits.

Every synthetic face is named by an integer seed. The four splits draw from disjoint seed
ranges, so no face is in two splits: the HR sets train the generators, and the LR sets are
made from OTHER faces, so the degradation model never sees an (HR, LR) pair during training.
"""

# First seed of each split; a split of n faces uses seeds [offset, offset + n).
SEED_OFFSETS = {
    'hr_train': 0,
    'hr_test': 10_000_000,
    'lr_train': 20_000_000,
    'lr_test': 30_000_000,
    # Untruncated faces (psi 1) for distilling the StyleGAN head over the whole W region that
    # SR-NAM searches (nam_jax/stylegan/train_head.py); cached as shards, not TFDS.
    'head_train': 40_000_000,
    'head_test': 50_000_000,
    # Synthetic LR inputs whose search end points the head is distilled on
    # (nam_jax/stylegan/search_points.py).
    'head_search': 60_000_000,
}
MAX_SPLIT_SIZE = 10_000_000  # Ranges above never overlap while splits stay below this.


def seed_range(split: str, num: int) -> range:
  """The seeds of the first `num` faces of a split."""
  if split not in SEED_OFFSETS:
    raise KeyError(f'Unknown split {split!r}; expected one of {sorted(SEED_OFFSETS)}.')
  if not 0 <= num <= MAX_SPLIT_SIZE:
    raise ValueError(f'A split holds at most {MAX_SPLIT_SIZE} faces, asked for {num}.')
  return range(SEED_OFFSETS[split], SEED_OFFSETS[split] + num)
