"""Final candidates at the output size: each found latent rendered once more, large.

The search runs at 64 px (the prior's fast head); a prior that can render larger (the StyleGAN
prior's full synthesis, up to 1024 px) renders each final latent once at --size. Two checks
say whether the large face is still the candidate that was found: its 64 px reduction against
the searched candidate (PSNR), and its 64 px reduction re-degraded with the candidate's fitted
degradation inputs against the LR input (LR L1, beside the searched candidate's own).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from tqdm import tqdm

from nam_jax import images, layers
from nam_jax.nam.options import RENDER_SIZES as SIZES


def can_render(prior) -> bool:
  """Whether a face prior renders above 64 px (has `render(params, latents, size)`)."""
  return callable(getattr(prior, 'render', None))


@functools.partial(jax.jit, static_argnames=('nets', 'size'))
def _render_chunk(nets, prior_params, degradation_vars, z, noise, targets, searched, size):
  big = jnp.clip(nets.prior.render(prior_params, z, size), -1.0, 1.0)
  small = layers.shrink(big, 64)
  lr = nets.degradation(degradation_vars, small, noise)
  mse = jnp.mean(jnp.square((small - searched) / 2.0), axis=(1, 2, 3))
  psnr = 10.0 * jnp.log10(1.0 / jnp.maximum(mse, 1e-12))
  return big, psnr, jnp.mean(jnp.abs(lr - targets), axis=(1, 2, 3))


def render_large(model, result: dict, lr_images: np.ndarray, size: int, batch: int = 4,
                 progress: bool = False) -> dict[str, np.ndarray]:
  """{'hr_large': uint8 [I, S, size, size, 3], 'render_psnr': [I, S] dB against the searched
  64 px candidate, 'render_lr_l1': [I, S]} for the candidates of `result` (models.super_resolve;
  needs z and noise). lr_images: the inputs, float [I, 16, 16, 3] in [-1, 1]."""
  if size not in SIZES:
    raise ValueError(f'size must be one of {SIZES}, got {size}')
  n_img, seeds = result['loss'].shape
  flat = lambda x: np.asarray(x).reshape((n_img * seeds,) + np.asarray(x).shape[2:])
  z, noise, searched = flat(result['z']), flat(result['noise']), flat(result['hr'])
  targets = np.repeat(np.asarray(lr_images, np.float32), seeds, axis=0)
  out = {'hr_large': [], 'render_psnr': [], 'render_lr_l1': []}
  total = n_img * seeds
  for start in tqdm(range(0, total, batch), desc=f'render {size} px', unit='chunk',
                    disable=not progress):
    idx = np.minimum(np.arange(start, start + batch), total - 1)  # Pad: one compilation.
    big, psnr, l1 = _render_chunk(model.nets, model.prior_params, model.degradation_vars,
                                  z[idx], noise[idx], targets[idx], searched[idx], size)
    keep = min(batch, total - start)
    out['hr_large'].append(images.as_uint8(np.asarray(big)[:keep]))
    out['render_psnr'].append(np.asarray(psnr)[:keep])
    out['render_lr_l1'].append(np.asarray(l1)[:keep])
  return {k: np.concatenate(v).reshape((n_img, seeds) + np.concatenate(v).shape[1:])
          for k, v in out.items()}
