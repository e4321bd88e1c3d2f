"""SR-NAM's degradations: what made an LR input, as a differentiable map the search inverts.

One module per degradation, each registered by one config block (`nam.degradations.NAME =
{module, ckpt, own}`, configs/common.py) and loaded as face priors are
(nam_jax/priors.load_degradation): `h2l` (the trained High-to-Low network), `operators`
(bicubic, bilinear, area), `camera` (a blind camera model fitted per candidate), and `auto`
(a classifier, `classifier`, picks bicubic or the camera per input; `auto`). A module's
`load(ckpt_dir, **own)` returns (degradation, weights, model.json record); the degradation
implements the protocol below. Inference never imports these modules by name.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # Types only: the flags are checked before JAX is imported.
  import jax


class Degradation(Protocol):
  """HR faces [B, 64, 64, 3] + noise [B, noise_dim] -> LR faces [B, s, s, 3] in [-1, 1]
  (s = 16 unless the degradation has a `size` field: at_size makes it map to another size).

  The noise is the degradation's free input: a learned network's noise vector, or a camera's
  parameters (nam_jax/degradations/camera.py); SR-NAM can optimise it per candidate."""

  @property
  def noise_dim(self) -> int:
    """Size of the noise vector of one image (0: nothing free, e.g. a known operator). A
    degradation may also set `noise_init_scale` (default 1), the standard deviation of the
    noise SR-NAM starts an optimised noise from, and `noise_lr_scale` (default 1), the
    noise's Adam step relative to the latent's."""

  def __call__(self, variables: Any, hr: jax.Array, noise: jax.Array) -> jax.Array:
    ...

  # Optional: penalty(noise [noise_dim]) -> a scalar prior on one image's free inputs, weighed
  # by the search's noise_prior option (the camera model: how real cameras behave).


def at_size(degradation, size: int):
  """The degradation mapping to LR faces of `size` px: a degradation with a `size` field (a
  dataclass: the known operators, the camera model) at that size; one without it (the trained
  H2L network) only at its own 16 px, else ValueError naming it."""
  own = getattr(degradation, 'size', 16)
  if size == own:
    return degradation
  if dataclasses.is_dataclass(degradation) and any(
      f.name == 'size' for f in dataclasses.fields(degradation)):
    return dataclasses.replace(degradation, size=size)
  raise ValueError(f'the {type(degradation).__name__} degradation makes {own} px faces only, '
                   f'not {size} px: use --degradation=bicubic, area, camera or auto, or '
                   f'--lr_size={own}')
