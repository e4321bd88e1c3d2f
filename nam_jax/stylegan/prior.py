"""MobileStyleGAN as SR-NAM's face prior: search in W (or W+), render at 64 px with the head.

Latent: one style w [512] (W space) or one per modulation [23, 512] (W+). A candidate starts
from the mapping of z ~ N(0, I) (the distribution the network was trained on; no truncation).
Rendering runs the synthesis to its 16 or 32 px features and the distilled 64 px head
(nam_jax/stylegan/head.py), which keeps a candidate-iteration within a small multiple of the
ProGAN's. `project` keeps a latent within the typical distance of the mean style (the ball
where mapped styles lie, the W-space analogue of PULSE's sphere); `mean_latent` is the mean
style (Cheikh Sidiya et al.'s pull target).

Its own options (config nam.priors.stylegan.own, passed to `load`): `w_plus` searches one
style per modulation; `spread` (W+ only) weighs a loss term on the spread of the per-layer
styles, the mean squared distance of each row to their mean (PULSE's cross loss in spirit).
With `encoder_ckpt` (--start=encoder: the block's encoder_ckpt) it also loads its LR-face
encoder (nam_jax/stylegan/encoder.py): `encode` predicts a style and a camera from the input,
`draw_near` draws starts around it with the encoder's measured spread. When the head's
checkpoint holds a coarse head (`coarse/`, nam_jax/stylegan/coarse.py), `coarse_view()` is the
same prior rendering through it: the search's first `coarse_steps` steps use that view.

Weights: the converted network (python -m nam_jax.stylegan.convert, cached in the data dir,
never committed; `load` converts it first if need be, convert.ensure_converted) and the head
checkpoint (checkpoints/stylegan_head_cpu, shipped).
"""

from __future__ import annotations

import dataclasses
import math
import pathlib

import jax
import jax.numpy as jnp

from nam_jax import layers
from nam_jax.stylegan import coarse as coarse_lib, convert, encoder as encoder_lib, head, \
    model as msg


@dataclasses.dataclass(frozen=True)
class StyleGANPrior:
  """FacePrior (nam_jax/priors.py) of MobileStyleGAN + a 64 px head."""

  head_spec: head.HeadSpec
  w_plus: bool = False
  spread: float = 0.0
  encoder_spec: encoder_lib.EncoderSpec | None = None
  coarse_spec: coarse_lib.CoarseSpec | None = None
  coarse: bool = False      # Render through the coarse head (coarse_view).

  @property
  def encodes(self) -> bool:
    return self.encoder_spec is not None

  def coarse_view(self) -> 'StyleGANPrior | None':
    """This prior rendering 64 px faces through its coarse head (32 px, enlarged), or None
    when its checkpoint has none."""
    return None if self.coarse_spec is None else dataclasses.replace(self, coarse=True)

  @property
  def latent_shape(self) -> tuple[int, ...]:
    return (msg.NUM_STYLES, msg.STYLE_DIM) if self.w_plus else (msg.STYLE_DIM,)

  def initial_latent(self, params, key: jax.Array) -> jax.Array:
    z = jax.random.normal(key, (1, msg.STYLE_DIM))
    w = msg.Mapping().apply({'params': params['mapping']}, z)[0]
    return jnp.broadcast_to(w, self.latent_shape) if self.w_plus else w

  def encode(self, params, target: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(style [512], raw camera) the encoder predicts for one LR face [16, 16, 3]."""
    style, cam = encoder_lib.predict(self.encoder_spec, params['encoder']['params'],
                                 params['w_mean'], params['w_radius'], target[None])
    return style[0], cam[0]

  def draw_near(self, params, centre: jax.Array, key: jax.Array, scale: float) -> jax.Array:
    """A starting latent around a predicted style: centre + scale x the measured spread x
    N(0, I), repeated per row in W+."""
    w = centre + scale * params['encoder']['spread'] * jax.random.normal(key, centre.shape)
    return jnp.broadcast_to(w, self.latent_shape) if self.w_plus else w

  def generate(self, params, latents: jax.Array) -> jax.Array:
    if self.coarse:
      return coarse_lib.render(self.coarse_spec, params['coarse'], params['synthesis'], latents)
    return head.render(self.head_spec, params['head'], params['synthesis'], latents)

  def project(self, params, latent: jax.Array) -> jax.Array:
    """Scales the offset from the mean style down to at most the typical radius of mapped
    styles (per row in W+); latents inside that ball are unchanged."""
    offset = latent - params['w_mean']
    norm = jnp.linalg.norm(offset, axis=-1, keepdims=True)
    return params['w_mean'] + offset * jnp.minimum(1.0, params['w_radius'] / (norm + 1e-8))

  def mean_latent(self, params) -> jax.Array:
    mean = params['w_mean']
    return jnp.broadcast_to(mean, self.latent_shape) if self.w_plus else mean

  def penalty(self, params, latent: jax.Array) -> jax.Array | None:
    """spread x the spread of a W+ latent's rows; None (no term) when spread is 0."""
    del params
    return self.spread * row_spread(latent) if self.spread else None

  def render(self, params, latents: jax.Array, size: int) -> jax.Array:
    """Faces [B, size, size, 3] of latents through the full synthesis (1024 px, not the
    head), reduced with an anti-aliased filter to `size`."""
    _, image = msg.Synthesis().apply({'params': params['synthesis']}, latents)
    return layers.shrink(image, size)


def row_spread(z: jax.Array) -> jax.Array:
  """Mean squared distance (per element) of the rows of a W+ latent [R, D] to their mean;
  0 for a single-row latent [D]."""
  if z.ndim < 2:
    return jnp.zeros(())
  return jnp.mean(jnp.square(z - jnp.mean(z, axis=0, keepdims=True)))


def style_statistics(mapping_params, samples: int = 2048, seed: int = 0):
  """(mean style, mean distance of mapped styles to it) of z ~ N(0, I), from a fixed key."""
  z = jax.random.normal(jax.random.key(seed), (samples, msg.STYLE_DIM))
  w = msg.Mapping().apply({'params': mapping_params}, z)
  mean = jnp.mean(w, axis=0)
  return mean, jnp.mean(jnp.linalg.norm(w - mean, axis=-1))


def load(ckpt_dir, w_plus: bool = False, spread: float = 0.0, encoder_ckpt: str = ''
         ) -> tuple[StyleGANPrior, dict, dict]:
  """(prior, params, head model.json); params = {mapping, synthesis, head, w_mean, w_radius},
  with an `encoder` checkpoint {'encoder': {params, spread}}, and 'coarse' (the coarse head's
  params) when the head's checkpoint holds one."""
  if not (math.isfinite(spread) and spread >= 0):
    raise ValueError(f'spread must be finite and >= 0, got {spread}')
  spec, head_params, meta = head.load(pathlib.Path(ckpt_dir))
  net = msg.load_params(convert.ensure_converted())
  mean, radius = style_statistics(net['mapping'])
  params = {'mapping': net['mapping'], 'synthesis': net['synthesis'], 'head': head_params,
            'w_mean': mean, 'w_radius': radius}
  encoder_spec = coarse_spec = None
  if encoder_ckpt:
    encoder_spec, params['encoder'], _ = encoder_lib.load(encoder_ckpt)
  if (pathlib.Path(ckpt_dir) / coarse_lib.FOLDER / 'model.json').is_file():
    coarse_spec, params['coarse'], _ = coarse_lib.load(pathlib.Path(ckpt_dir) / coarse_lib.FOLDER)
  return (StyleGANPrior(spec, bool(w_plus), float(spread), encoder_spec, coarse_spec), params,
          meta)
