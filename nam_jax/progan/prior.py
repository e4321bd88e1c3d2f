"""The Progressive GAN as a face prior for SR-NAM, and its inference checkpoint.

The prior is the EMA generator at its last stage (64x64, alpha = 1), searched in its input
space: z in R^latent_dim, started from N(0, I) as the generator was trained.
"""

from __future__ import annotations

import dataclasses
import pathlib

import jax
import jax.numpy as jnp

from nam_jax import weights
from nam_jax.progan import model

KIND = 'generator'


@dataclasses.dataclass(frozen=True)
class ProGANPrior:
  """FacePrior (nam_jax/priors.py) of a trained ProGAN generator."""

  widths: tuple[int, ...]
  latent_dim: int

  @property
  def latent_shape(self) -> tuple[int, ...]:
    return (self.latent_dim,)

  def initial_latent(self, params, key: jax.Array) -> jax.Array:
    del params
    return jax.random.normal(key, (self.latent_dim,))

  def generate(self, params, latents: jax.Array) -> jax.Array:
    g = model.Generator(self.widths)
    return g.apply({'params': params}, latents, len(self.widths) - 1, 1.0)

  def project(self, params, latent: jax.Array) -> jax.Array:
    """Back to the sphere of radius sqrt(latent_dim), where N(0, I) latents concentrate."""
    del params
    return latent * jnp.sqrt(latent.shape[-1]) / jnp.linalg.norm(latent)

  def mean_latent(self, params) -> jax.Array:
    """0, the mean of N(0, I). The generator starts with pixel norm, so G(c z) = G(z) for
    c > 0: pulling z toward 0 rescales it and leaves the face unchanged."""
    del params
    return jnp.zeros((self.latent_dim,))


def export(progan_cfg, ema_params, out_dir, source: dict | None = None) -> pathlib.Path:
  """Writes the EMA generator of a `config.progan` as an inference checkpoint."""
  meta = {'kind': KIND, 'widths': list(progan_cfg.widths),
          'latent_dim': progan_cfg.latent_dim, 'source': source or {}}
  return weights.save(out_dir, meta, {'params': ema_params})


def load(ckpt_dir) -> tuple[ProGANPrior, dict, dict]:
  """(prior, generator params, model.json) of an exported EMA generator (no own options)."""
  ckpt_dir = pathlib.Path(ckpt_dir)
  meta = weights.read_meta(ckpt_dir, KIND)
  prior = ProGANPrior(tuple(meta['widths']), meta['latent_dim'])
  net = model.Generator(prior.widths)
  like = jax.eval_shape(lambda: net.init_all(jax.random.key(0), prior.latent_dim))
  return prior, weights.restore(ckpt_dir, dict(like))['params'], meta
