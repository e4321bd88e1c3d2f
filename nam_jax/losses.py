"""Losses shared by the model families (not GAN objectives: those are nam_jax/gan.py)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from nam_jax.eval import vgg


def perceptual_loss(vgg_params, a: jax.Array, b: jax.Array, taps, size: int) -> jax.Array:
  """Mean L1 distance of VGG16 activations of two LR batches (resized to size x size)."""
  if a.shape[1] != size:
    shape = (a.shape[0], size, size, 3)
    a, b = jax.image.resize(a, shape, 'bilinear'), jax.image.resize(b, shape, 'bilinear')
  fa = vgg.VGG16Features(tuple(taps)).apply(vgg_params, a)
  fb = vgg.VGG16Features(tuple(taps)).apply(vgg_params, b)
  return sum(jnp.mean(jnp.abs(fa[t] - fb[t])) for t in taps) / len(taps)
