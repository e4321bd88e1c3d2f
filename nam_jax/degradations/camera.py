"""A blind, differentiable camera model as SR-NAM degradation: fitted per candidate.

Its "noise" input is the camera's parameter vector (unconstrained reals), optimised jointly
with the latent in the same fused program (SR-NAM's noise='optimise'), so every candidate
gets the camera that best explains the input with its face. The model follows the order of
a camera (nam_jax/data/camera_sim.py makes LR faces the same way):

  HR in [-1, 1] -> [0, 1] -> gamma -> 3x3 colour matrix + bias -> anisotropic Gaussian blur
  -> anti-aliased bicubic downsampling to 16 px (nam_jax/degradations/operators.py) -> [-1, 1]

Every parameter is squashed into a fixed range (below) so the camera cannot explain the face
away: a colour matrix within 0.67-1.5x per channel with cross-talk under 0.1, bias under 0.15
of the range, gamma 0.61-1.65, blur 0.2-3 HR pixels. These are narrower than the simulator's
widest cameras (a gain times contrast down to 0.45, gamma 0.5-2 under coloured light, motion
blur): `raw_from_camera` says which simulated cameras the model can represent exactly. Of
200 drawn cameras per strength, after leaving out motion blur, 134 of 161 'mild', 72 of 152
'strong' and 43 of 161 'cast' ones are inside; on those the model's image is within 0.002,
0.003 and 0.005 mean L1 of the simulator's optics shrunk bicubically (tests/unit/test_camera_model.py
checks the mild ones).
Sensor noise and JPEG are not modelled: the L1 loss treats them as residual.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from nam_jax.degradations import operators

# Parameter layout of the camera vector.
GAMMA, GAIN, CROSS, BIAS, BLUR = slice(0, 1), slice(1, 4), slice(4, 10), slice(10, 13), \
    slice(13, 16)
NUM_PARAMS = 16
PAD = 16                     # Reflect padding before the FFT blur: > 5 sigma of the widest.
LOG_GAMMA, LOG_GAIN, CROSS_MAX, BIAS_MAX = 0.5, 0.4, 0.1, 0.15
SIGMA_MIN, SIGMA_MAX = 0.2, 3.0
# Raw blur parameters are offset so the zero vector is a near-sharp camera (sigma 0.53 px).
BLUR_OFFSET = -2.0
_OFF_DIAGONAL = [(0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1)]


def camera_params(raw: jax.Array) -> dict[str, jax.Array]:
  """The physical parameters of one raw vector [NUM_PARAMS], each within its range."""
  gamma = jnp.exp(LOG_GAMMA * jnp.tanh(raw[GAMMA]))[0]
  matrix = jnp.diag(jnp.exp(LOG_GAIN * jnp.tanh(raw[GAIN])))
  cross = CROSS_MAX * jnp.tanh(raw[CROSS])
  for k, (i, j) in enumerate(_OFF_DIAGONAL):
    matrix = matrix.at[i, j].set(cross[k])
  bias = BIAS_MAX * jnp.tanh(raw[BIAS])
  sig = SIGMA_MIN + (SIGMA_MAX - SIGMA_MIN) * jax.nn.sigmoid(raw[BLUR][:2] + BLUR_OFFSET)
  return {'gamma': gamma, 'matrix': matrix, 'bias': bias, 'sigma': sig,
          'angle': raw[BLUR][2]}


# How far real cameras stray from a neutral rendering, as standard deviations of the model's
# physical parameters: automatic exposure misses by about a third of a stop (log gain 0.25),
# automatic white balance leaves a cast of a few degrees (log gain of one channel against the
# mean 0.05), tone curves stay near the standard one (log gamma 0.15), and colour cross-talk
# and black-level offsets are small after a camera's own correction (0.03). Magnitudes from the
# colour-constancy and auto-exposure literature, not measured here. Blur has no prior: it is
# what small faces really suffer.
PRIOR_SIGMA = {'exposure': 0.25, 'cast': 0.05, 'gamma': 0.15, 'cross': 0.03, 'bias': 0.03}


def prior_penalty(raw: jax.Array) -> jax.Array:
  """Half the sum of squared z-scores of one raw camera vector's tone parameters against
  PRIOR_SIGMA: 0 for the neutral camera (the search's --noise_prior weighs it)."""
  p = camera_params(raw)
  log_gain = jnp.log(jnp.diagonal(p['matrix']))
  exposure = jnp.mean(log_gain)
  cross = p['matrix'][tuple(zip(*_OFF_DIAGONAL))]
  z2 = ((exposure / PRIOR_SIGMA['exposure']) ** 2 +
        jnp.sum(((log_gain - exposure) / PRIOR_SIGMA['cast']) ** 2) +
        (jnp.log(p['gamma']) / PRIOR_SIGMA['gamma']) ** 2 +
        jnp.sum((cross / PRIOR_SIGMA['cross']) ** 2) +
        jnp.sum((p['bias'] / PRIOR_SIGMA['bias']) ** 2))
  return 0.5 * z2


def raw_from_camera(camera: dict) -> tuple[np.ndarray, bool]:
  """(raw vector [NUM_PARAMS], inside) of a camera in physical terms (gamma, matrix [3, 3],
  bias [3], sigma [2], angle; nam_jax/data/camera_sim.model_camera): camera_params of the raw
  vector gives it back when `inside`; otherwise each parameter is clipped into its range."""
  eps = 1e-6

  def squash_inverse(value, limit):
    ratio = np.asarray(value, np.float64) / limit
    return np.arctanh(np.clip(ratio, -1 + eps, 1 - eps)), bool(np.all(np.abs(ratio) < 1))

  m = np.asarray(camera['matrix'], np.float64)
  parts = [squash_inverse(np.log(camera['gamma']), LOG_GAMMA),
           squash_inverse(np.log(np.maximum(np.diagonal(m), 1e-12)), LOG_GAIN),
           squash_inverse([m[i, j] for i, j in _OFF_DIAGONAL], CROSS_MAX),
           squash_inverse(camera['bias'], BIAS_MAX)]
  sigma = np.asarray(camera['sigma'], np.float64)
  unit = (sigma - SIGMA_MIN) / (SIGMA_MAX - SIGMA_MIN)
  inside_blur = bool(np.all((unit > 0) & (unit < 1)) or np.all(sigma == 0))
  unit = np.clip(unit, eps, 1 - eps)
  blur_raw = np.log(unit / (1 - unit)) - BLUR_OFFSET
  raw = np.concatenate([np.atleast_1d(r) for r, _ in parts] +
                       [blur_raw, [float(camera['angle'])]]).astype(np.float32)
  return raw, all(ok for _, ok in parts) and inside_blur


def blur(x: jax.Array, sigma: jax.Array, angle: jax.Array) -> jax.Array:
  """x [H, W, C] blurred by an anisotropic Gaussian with sigmas (along, across) `angle`.

  Multiplied in the Fourier domain by the Gaussian's transfer function, after reflect
  padding by PAD pixels (a grouped convolution with a per-candidate kernel has a slow kernel
  gradient on XLA:CPU; two FFTs of a 96 px image are nearly free)."""
  h, w = x.shape[:2]
  xp = jnp.pad(x, ((PAD, PAD), (PAD, PAD), (0, 0)), mode='reflect')
  fy = jnp.fft.fftfreq(xp.shape[0])[:, None]
  fx = jnp.fft.rfftfreq(xp.shape[1])[None, :]
  c, s = jnp.cos(angle), jnp.sin(angle)
  fu, fv = c * fx + s * fy, -s * fx + c * fy
  transfer = jnp.exp(-2.0 * jnp.pi ** 2 * ((sigma[0] * fu) ** 2 + (sigma[1] * fv) ** 2))
  out = jnp.fft.irfft2(jnp.fft.rfft2(xp, axes=(0, 1)) * transfer[:, :, None],
                       s=xp.shape[:2], axes=(0, 1))
  return out[PAD:PAD + h, PAD:PAD + w]


def apply_one(raw: jax.Array, hr: jax.Array, size: int = 16) -> jax.Array:
  """One HR image [64, 64, 3] in [-1, 1] through the camera `raw` -> [size, size, 3]."""
  p = camera_params(raw)
  x = jnp.clip((hr + 1.0) * 0.5, 1e-4, 1.0) ** p['gamma']
  x = x @ p['matrix'].T + p['bias']
  x = operators.resize(blur(x, p['sigma'], p['angle']), size, 'bicubic')
  return jnp.clip(x * 2.0 - 1.0, -1.0, 1.0)


@dataclasses.dataclass(frozen=True)
class CameraDegradation:
  """Degradation (nam_jax/priors.py) whose noise [B, NUM_PARAMS] is the camera of each image.

  `noise_init_scale`: SR-NAM starts each candidate's camera from N(0, scale^2), near the
  neutral camera (zero vector: identity colour, gamma 1, a near-sharp blur)."""

  size: int = 16
  noise_dim: int = NUM_PARAMS
  noise_is_camera: bool = True  # An encoder's predicted camera can start the noise.
  noise_init_scale: float = 0.1
  noise_lr_scale: float = 5.0

  def __call__(self, variables, hr: jax.Array, noise: jax.Array) -> jax.Array:
    del variables
    return jax.vmap(lambda n, x: apply_one(n, x, self.size))(noise, hr)

  def penalty(self, noise: jax.Array) -> jax.Array:
    """The prior on one image's camera [NUM_PARAMS] (prior_penalty)."""
    return prior_penalty(noise)


def load(ckpt_dir=None) -> tuple[CameraDegradation, dict, dict]:
  """The registry's loader: the camera model has no weights."""
  del ckpt_dir
  return CameraDegradation(), {}, {'kind': 'camera'}
