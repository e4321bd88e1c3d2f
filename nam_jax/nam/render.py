"""Final candidates at the output size: each found latent rendered once more, large, and made
to fit the input as the searched candidate does.

The search runs at 64 px (the prior's fast head); a prior that can render larger (the StyleGAN
prior's full synthesis, up to 1024 px) renders each final latent once at --size. The full
network is not the head: the raw render's 64 px reduction matches the searched candidate to
about 20-21 dB and re-degrades to the input about three times worse (docs/benchmarks.md, "The
answer at full size"). A refinement of the latent through the full network would cost about
5 s per candidate and step on a 2-core CPU, so the render is fitted in image space instead:
its content below `band` px (the band the LR input constrains; 32 by default) is replaced by
the searched candidate's, twice (a back-projection), and the detail above it is the full
network's own. band 0 keeps the raw render.

Two checks say whether the large face is still the candidate that was found: its 64 px
reduction against the searched candidate (PSNR), and its 64 px reduction re-degraded with the
candidate's fitted degradation inputs against the LR input (LR L1, beside the searched
candidate's own).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from tqdm import tqdm

from nam_jax import images, layers
from nam_jax.nam.options import RENDER_BANDS as BANDS, RENDER_SIZES as SIZES

FIT_ROUNDS = 2  # Back-projection rounds: the second takes the LR L1 to the searched one's.


def can_render(prior) -> bool:
  """Whether a face prior renders above 64 px (has `render(params, latents, size)`)."""
  return callable(getattr(prior, 'render', None))


def lowpass(x: jax.Array, band: int) -> jax.Array:
  """The content of images [B, S, S, C] below `band` px: reduced to band, enlarged back."""
  size = x.shape[1]
  if band >= size:
    return x
  return jax.image.resize(layers.shrink(x, band), x.shape, 'linear')


def fit_to(big: jax.Array, searched: jax.Array, band: int, rounds: int = FIT_ROUNDS
           ) -> jax.Array:
  """`big` [B, S, S, 3] with its 64 px reduction's content below `band` px replaced by that of
  `searched` [B, 64, 64, 3] (the difference enlarged bicubically, `rounds` times); band 0:
  `big` unchanged."""
  if not band:
    return big
  want = lowpass(searched, band)
  for _ in range(rounds):
    gap = want - lowpass(layers.shrink(big, 64), band)
    big = big + jax.image.resize(gap, big.shape, 'cubic')
  return jnp.clip(big, -1.0, 1.0)


def agreement(small: jax.Array, searched: jax.Array, lr: jax.Array, targets: jax.Array
              ) -> tuple[jax.Array, jax.Array]:
  """(PSNR dB of 64 px reductions against the searched candidates, LR L1 of their
  re-degraded images `lr` against the inputs), per candidate."""
  mse = jnp.mean(jnp.square((small - searched) / 2.0), axis=(1, 2, 3))
  psnr = 10.0 * jnp.log10(1.0 / jnp.maximum(mse, 1e-12))
  return psnr, jnp.mean(jnp.abs(lr - targets), axis=(1, 2, 3))


@functools.partial(jax.jit, static_argnames=('nets', 'size', 'band'))
def render_chunk(nets, prior_params, degradation_vars, z, noise, targets, searched, size,
                 band):
  """Candidates rendered at `size` and fitted below `band` px: (images [B, size, size, 3],
  PSNR against the searched candidates, LR L1): one program for all candidates of a chunk."""
  big = fit_to(jnp.clip(nets.prior.render(prior_params, z, size), -1.0, 1.0), searched, band)
  small = layers.shrink(big, 64)
  psnr, l1 = agreement(small, searched, nets.degradation(degradation_vars, small, noise),
                       targets)
  return big, psnr, l1


def render_large(model, result: dict, lr_images: np.ndarray, size: int, band: int = 32,
                 batch: int = 4, progress: bool = False) -> dict[str, np.ndarray]:
  """{'hr_large': uint8 [I, S, size, size, 3], 'render_psnr': [I, S] dB against the searched
  64 px candidate, 'render_lr_l1': [I, S]} for the candidates of `result` (models.super_resolve;
  needs z and noise), fitted below `band` px (0: the raw render). lr_images: the inputs, float
  [I, 16, 16, 3] in [-1, 1]."""
  if size not in SIZES:
    raise ValueError(f'size must be one of {SIZES}, got {size}')
  if band not in BANDS:
    raise ValueError(f'render band must be one of {BANDS}, got {band}')
  n_img, seeds = result['loss'].shape
  flat = lambda x: np.asarray(x).reshape((n_img * seeds,) + np.asarray(x).shape[2:])
  z, noise, searched = flat(result['z']), flat(result['noise']), flat(result['hr'])
  targets = np.repeat(np.asarray(lr_images, np.float32), seeds, axis=0)
  out = {'hr_large': [], 'render_psnr': [], 'render_lr_l1': []}
  total = n_img * seeds
  for start in tqdm(range(0, total, batch), desc=f'render {size} px', unit='chunk',
                    disable=not progress):
    idx = np.minimum(np.arange(start, start + batch), total - 1)  # Pad: one compilation.
    big, psnr, l1 = render_chunk(model.nets, model.prior_params, model.degradation_vars,
                                 z[idx], noise[idx], targets[idx], searched[idx], size, band)
    keep = min(batch, total - start)
    out['hr_large'].append(images.as_uint8(np.asarray(big)[:keep]))
    out['render_psnr'].append(np.asarray(psnr)[:keep])
    out['render_lr_l1'].append(np.asarray(l1)[:keep])
  return {k: np.concatenate(v).reshape((n_img, seeds) + np.concatenate(v).shape[1:])
          for k, v in out.items()}
