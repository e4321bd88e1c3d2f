"""Renders at the output size fitted to the input (nam_jax/nam/render.py), on a tiny prior whose
large render is its searched face plus a smooth shift and fine detail of its own (as the full
network differs from the 64 px head)."""

import dataclasses
import types

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nam_jax import layers
from nam_jax.degradations import operators
from nam_jax.nam import invert, render


def _smooth(key, size, cells=4):
  return jax.image.resize(jax.random.uniform(key, (1, cells, cells, 3), minval=-0.6,
                                             maxval=0.6), (1, size, size, 3), 'cubic')[0]


@dataclasses.dataclass(frozen=True)
class TinyPrior:
  """generate: a 64 px face from a latent [2, 3] (two colours blended over the rows);
  render: the same face enlarged, with a smooth colour shift and a fine checker of its own."""

  def generate(self, params, z):
    ramp = jnp.linspace(0.0, 1.0, 64)[None, :, None, None]
    return jnp.tanh(z[:, None, None, 0] * (1 - ramp) + z[:, None, None, 1] * ramp
                    + params['face'])

  def render(self, params, z, size):
    face = jax.image.resize(self.generate(params, z), (z.shape[0], size, size, 3), 'cubic')
    shift = jax.image.resize(params['shift'], (size, size, 3), 'cubic')
    checker = 0.1 * ((jnp.arange(size)[:, None] + jnp.arange(size)[None, :]) % 2 - 0.5)
    return face + shift + checker[:, :, None]


@pytest.fixture(scope='module')
def tiny():
  k1, k2, k3 = jax.random.split(jax.random.key(0), 3)
  params = {'face': _smooth(k1, 64, 8) * 0.5, 'shift': _smooth(k2, 8) * 0.5}
  nets = invert.Networks(TinyPrior(), operators.KnownOperator('bicubic'))
  model = types.SimpleNamespace(nets=nets, prior_params=params, degradation_vars={})
  z = jax.random.normal(k3, (3, 2, 2, 3)) * 0.5  # [I, S, 2, 3]
  hr = np.asarray(nets.prior.generate(params, z.reshape(6, 2, 3))).reshape(3, 2, 64, 64, 3)
  lr_images = np.asarray(nets.degradation({}, jnp.asarray(hr[:, 0]), None))
  result = {'z': np.asarray(z), 'hr': hr, 'noise': np.zeros((3, 2, 0), np.float32),
            'loss': np.zeros((3, 2), np.float32)}
  return model, result, lr_images


def test_fit_takes_the_searched_low_band_and_keeps_the_render_s_detail():
  key_big, key_face = jax.random.split(jax.random.key(1))
  big = jnp.stack([_smooth(key_big, 256) + 0.1 * jax.random.normal(key_big, (256, 256, 3))])
  searched = _smooth(key_face, 64)[None]
  fitted = render.fit_to(big, searched, 32)
  chex.assert_shape(fitted, (1, 256, 256, 3))
  gap = lambda x: float(jnp.mean(jnp.abs(render.lowpass(layers.shrink(x, 64), 32)
                                         - render.lowpass(searched, 32))))
  assert gap(fitted) < 0.1 * gap(big)
  high = lambda x: x - jax.image.resize(layers.shrink(x, 64), x.shape, 'linear')
  # The fine detail is the render's own (the correction is smooth).
  assert float(jnp.mean(jnp.abs(high(fitted) - high(big)))) < 0.05 * float(
      jnp.mean(jnp.abs(high(big))))
  assert render.fit_to(big, searched, 0) is big


def test_fitted_renders_re_degrade_as_the_search_fit_raw_ones_do_not(tiny):
  model, result, lr_images = tiny
  raw = render.render_large(model, result, lr_images, 128, band=0, batch=4)
  fitted = render.render_large(model, result, lr_images, 128, band=32, batch=4)
  chex.assert_shape(fitted['hr_large'], (3, 2, 128, 128, 3))
  assert fitted['hr_large'].dtype == np.uint8
  searched_l1 = np.abs(np.asarray(model.nets.degradation(
      {}, jnp.asarray(result['hr'][:, 0]), None)) - lr_images).mean()  # 0: the inputs' own.
  assert searched_l1 < 1e-6
  # Seed 0 made the inputs: its render fits them within the 8-bit rounding of its PNG.
  assert fitted['render_lr_l1'][:, 0].max() < 0.02 < raw['render_lr_l1'][:, 0].min()
  assert np.all(fitted['render_psnr'] > raw['render_psnr'] + 6)


def test_the_render_of_all_chunks_is_one_program(tiny):
  model, result, lr_images = tiny
  render.render_chunk.clear_cache()
  render.render_large(model, result, lr_images, 128, band=32, batch=4)  # 2 chunks, one padded.
  assert render.render_chunk._cache_size() == 1


def test_bad_render_settings_are_refused(tiny):
  model, result, lr_images = tiny
  with pytest.raises(ValueError, match='size must be one of'):
    render.render_large(model, result, lr_images, 100)
  with pytest.raises(ValueError, match='band must be one of'):
    render.render_large(model, result, lr_images, 128, band=8)
