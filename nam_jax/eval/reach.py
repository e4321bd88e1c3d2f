"""Reach of a degradation: how closely it can map the TRUE face onto the LR input.

  reach(D, face) = min over D's free inputs n of  L1(D(true HR, n), LR input)

(mean over pixels, images in [-1, 1]). If the truth cannot explain the input, the search's
optimum is not the person, whatever the prior. Free inputs are found with Adam from the zero
vector and from `starts - 1` random ones (N(0, noise_init_scale^2)); the best value seen in
any step is kept. Operators with nothing free are evaluated once.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

from nam_jax import images


def _l1(degradation, variables, hr, lr, n):
  return jnp.mean(jnp.abs(degradation(variables, hr[None], n[None])[0] - lr))


@functools.partial(jax.jit, static_argnames=('degradation', 'steps', 'learning_rate'))
def _fit(degradation, variables, hr, lr, n0, steps: int, learning_rate: float):
  """Best L1 over Adam steps from noise n0, per (face, start): hr [N, ...], n0 [N, K, dim]."""
  tx = optax.adam(learning_rate)

  def one(h, target, n):
    loss_fn = functools.partial(_l1, degradation, variables, h, target)

    def step(carry, _):
      n, state, best = carry
      loss, g = jax.value_and_grad(loss_fn)(n)
      updates, state = tx.update(g, state, n)
      return (optax.apply_updates(n, updates), state, jnp.minimum(best, loss)), None

    (n, _, best), _ = jax.lax.scan(step, (n, tx.init(n), jnp.inf), None, length=steps)
    return jnp.minimum(best, loss_fn(n))

  return jax.vmap(lambda h, t, ns: jax.vmap(lambda n: one(h, t, n))(ns))(hr, lr, n0)


def reach(degradation, variables, hr: np.ndarray, lr_images: np.ndarray, steps: int = 300,
          learning_rate: float = 0.05, starts: int = 2, seed: int = 0) -> np.ndarray:
  """Per-face reach [N] of `degradation` for true faces hr (uint8 [N, 64, 64, 3]) and their
  LR inputs (uint8 [N, 16, 16, 3])."""
  hr = jnp.asarray(images.as_float(hr))
  lr = jnp.asarray(images.as_float(lr_images))
  dim = degradation.noise_dim
  if dim == 0:
    return np.asarray(jax.vmap(lambda h, t: _l1(degradation, variables, h, t,
                                                jnp.zeros((0,))))(hr, lr))
  scale = getattr(degradation, 'noise_init_scale', 1.0)
  n0 = scale * jax.random.normal(jax.random.key(seed), (hr.shape[0], starts, dim))
  n0 = n0.at[:, 0].set(0.0)
  best = _fit(degradation, variables, hr, lr, n0, steps, learning_rate)
  return np.asarray(jnp.min(best, axis=1))


def area_affine_reach(hr: np.ndarray, lr_images: np.ndarray) -> np.ndarray:
  """Reference reach [N]: 4x4 area downsampling of the true face plus a per-face 3x4 colour
  affine fitted by least squares (what a colour-corrected box filter can explain)."""
  n = hr.shape[0]
  x = images.as_float(hr).reshape(n, 16, 4, 16, 4, 3).mean(axis=(2, 4)).reshape(n, -1, 3)
  y = images.as_float(lr_images).reshape(n, -1, 3)
  out = []
  for xi, yi in zip(x, y):
    a = np.concatenate([xi, np.ones((len(xi), 1))], axis=1)
    coef, *_ = np.linalg.lstsq(a, yi, rcond=None)
    out.append(np.mean(np.abs(a @ coef - yi)))
  return np.array(out)
