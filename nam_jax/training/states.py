"""The training states stages share (pytrees that checkpoints save and restore whole)."""

from __future__ import annotations

from typing import Any

import flax


@flax.struct.dataclass
class OneNetwork:
  """One network and its optimiser (the StyleGAN head, the LR-kind classifier, the encoder)."""
  params: Any
  opt_state: Any


@flax.struct.dataclass
class Gan:
  """A generator and its critic with their batch statistics ({} when a network has none) and
  optimisers (the degradation GAN, the baselines)."""
  g_params: Any
  g_stats: Any
  g_opt: Any
  d_params: Any
  d_stats: Any
  d_opt: Any
