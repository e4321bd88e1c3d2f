"""The simulated camera: clean 64x64 faces -> "real-world" 16x16 faces (its differentiable
part, fitted per candidate by SR-NAM, is nam_jax/degradations/camera.py).

No unpaired real-world LR face set exists offline, so nam_jax makes one: each face is passed
through a pipeline whose parameters are drawn per face from a seeded generator,

  colour/gamma shift -> optical blur (Gaussian, anisotropic, or motion) -> downsampling with a
  random resampling filter -> sensor noise (shot + read) -> JPEG compression

in that order, as in a camera (optics before the sensor, compression last). Pillow does the
resampling and JPEG (it links libjpeg), SciPy the blur convolution. Because the process is
known, the test split can keep the sampled parameters as ground truth.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
from scipy import ndimage

# Order of the recorded parameters (the `params` feature of the paired LR split).
PARAM_NAMES = (
    'gamma', 'gain_r', 'gain_g', 'gain_b', 'contrast', 'brightness',
    'blur_kind',  # 0 none, 1 gaussian, 2 motion
    'blur_sigma_major', 'blur_sigma_minor', 'blur_angle', 'motion_length',
    'resample',  # index into RESAMPLE_FILTERS
    'shot_noise', 'read_noise', 'jpeg_quality',
)
RESAMPLE_FILTERS = (Image.NEAREST, Image.BILINEAR, Image.BICUBIC, Image.BOX, Image.LANCZOS)


# Ranges of the two strengths: 'mild' made the training LR and the first real-face set;
# 'strong' stands for a worse camera (more blur, noise, colour cast and compression).
RANGES = {
    'mild': dict(gamma=(0.7, 1.4), gain_r=(0.85, 1.15), gain_g=(0.9, 1.1), gain_b=(0.85, 1.15),
                 contrast=(0.7, 1.1), brightness=(-0.08, 0.08), blur_major=(0.3, 2.2),
                 motion_length=(2.0, 7.0), shot_noise=(0.0, 0.04), read_noise=(0.0, 0.04),
                 jpeg_quality=(30, 96)),
    'strong': dict(gamma=(0.6, 1.6), gain_r=(0.75, 1.25), gain_g=(0.85, 1.15),
                   gain_b=(0.75, 1.25), contrast=(0.6, 1.0), brightness=(-0.12, 0.12),
                   blur_major=(1.2, 3.0), motion_length=(4.0, 9.0), shot_noise=(0.02, 0.07),
                   read_noise=(0.02, 0.06), jpeg_quality=(20, 60)),
    # A good lens and sensor under coloured light: strong casts and tone curves, little blur.
    'cast': dict(gamma=(0.5, 2.0), gain_r=(0.6, 1.4), gain_g=(0.8, 1.2), gain_b=(0.6, 1.4),
                 contrast=(0.6, 1.2), brightness=(-0.15, 0.15), blur_major=(0.3, 1.5),
                 motion_length=(2.0, 5.0), shot_noise=(0.0, 0.03), read_noise=(0.0, 0.03),
                 jpeg_quality=(40, 96)),
}


def sample_params(rng: np.random.Generator, strength: str = 'mild') -> np.ndarray:
  """Draws one set of degradation parameters, float32 [len(PARAM_NAMES)]."""
  r = RANGES[strength]
  blur_kind = rng.choice(3, p=[0.15, 0.65, 0.2] if strength != 'strong' else [0.0, 0.75, 0.25])
  major = rng.uniform(*r['blur_major'])
  p = {
      'gamma': np.exp(rng.uniform(np.log(r['gamma'][0]), np.log(r['gamma'][1]))),
      'gain_r': rng.uniform(*r['gain_r']),
      'gain_g': rng.uniform(*r['gain_g']),
      'gain_b': rng.uniform(*r['gain_b']),
      'contrast': rng.uniform(*r['contrast']),
      'brightness': rng.uniform(*r['brightness']),
      'blur_kind': blur_kind,
      'blur_sigma_major': major,
      'blur_sigma_minor': major * rng.uniform(0.4, 1.0),
      'blur_angle': rng.uniform(0.0, np.pi),
      'motion_length': rng.uniform(*r['motion_length']),
      'resample': rng.integers(len(RESAMPLE_FILTERS)),
      'shot_noise': rng.uniform(*r['shot_noise']),
      'read_noise': rng.uniform(*r['read_noise']),
      'jpeg_quality': rng.integers(*r['jpeg_quality']),
  }
  return np.array([p[k] for k in PARAM_NAMES], np.float32)


def blur_kernel(kind: int, sigma_major: float, sigma_minor: float, angle: float,
                length: float) -> np.ndarray:
  """Normalised 2-D blur kernel (odd size); a delta when kind == 0."""
  if kind == 0:
    return np.ones((1, 1), np.float32)
  radius = int(np.ceil(3 * sigma_major)) if kind == 1 else int(np.ceil(length / 2)) + 1
  yy, xx = np.mgrid[-radius:radius + 1, -radius:radius + 1].astype(np.float64)
  c, s = np.cos(angle), np.sin(angle)
  u, v = c * xx + s * yy, -s * xx + c * yy  # Coordinates along / across the blur direction.
  if kind == 1:
    k = np.exp(-0.5 * ((u / sigma_major) ** 2 + (v / sigma_minor) ** 2))
  else:  # A line of the given length, softened across by half a pixel.
    k = np.exp(-0.5 * (v / 0.5) ** 2) * (np.abs(u) <= length / 2)
  return (k / k.sum()).astype(np.float32)


def optics(hr: np.ndarray, params: np.ndarray) -> np.ndarray:
  """The tone and blur stages of the camera on one uint8 HWC RGB image: float32 in [0, 1]."""
  p = dict(zip(PARAM_NAMES, params.tolist()))
  x = hr.astype(np.float32) / 255.0
  x = x ** p['gamma'] * np.array([p['gain_r'], p['gain_g'], p['gain_b']], np.float32)
  x = (x - 0.5) * p['contrast'] + 0.5 + p['brightness']
  k = blur_kernel(int(p['blur_kind']), p['blur_sigma_major'], p['blur_sigma_minor'],
                  p['blur_angle'], p['motion_length'])
  x = np.stack([ndimage.convolve(x[..., c], k, mode='reflect') for c in range(3)], -1)
  return np.clip(x, 0.0, 1.0)


def model_camera(params: np.ndarray) -> dict[str, np.ndarray] | None:
  """The camera `params` in the differentiable model's terms (nam_jax/degradations/camera.py):
  gamma, colour matrix [3, 3] and bias [3] on [0, 1] values, blur sigmas (along, across) and
  angle; None for motion blur, which the model does not have. No blur is the narrowest."""
  p = dict(zip(PARAM_NAMES, params.tolist()))
  if int(p['blur_kind']) == 2:
    return None
  gains = np.array([p['gain_r'], p['gain_g'], p['gain_b']]) * p['contrast']
  sigma = ((p['blur_sigma_major'], p['blur_sigma_minor']) if int(p['blur_kind']) == 1
           else (0.0, 0.0))
  return {'gamma': np.float64(p['gamma']), 'matrix': np.diag(gains),
          'bias': np.full(3, 0.5 - 0.5 * p['contrast'] + p['brightness']),
          'sigma': np.array(sigma), 'angle': np.float64(p['blur_angle'])}


def degrade(hr: np.ndarray, params: np.ndarray, rng: np.random.Generator,
            out_size: int = 16) -> np.ndarray:
  """Applies the camera pipeline to one uint8 HWC RGB image; returns uint8 [out, out, 3]."""
  p = dict(zip(PARAM_NAMES, params.tolist()))
  x = optics(hr, params)
  img = Image.fromarray((x * 255 + 0.5).astype(np.uint8)).resize(
      (out_size, out_size), RESAMPLE_FILTERS[int(p['resample'])])
  x = np.asarray(img).astype(np.float32) / 255.0
  std = np.sqrt(p['shot_noise'] ** 2 * x + p['read_noise'] ** 2)
  x = np.clip(x + std * rng.standard_normal(x.shape).astype(np.float32), 0.0, 1.0)
  buf = io.BytesIO()
  Image.fromarray((x * 255 + 0.5).astype(np.uint8)).save(
      buf, format='JPEG', quality=int(p['jpeg_quality']))
  return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert('RGB'))


# Mixtures of LR kinds for training sets: (kind, share); 'bicubic' is plain PIL bicubic
# (a near-clean software shrink), the others are strengths of RANGES.
MIXES = {'wide': (('bicubic', 0.25), ('mild', 0.25), ('strong', 0.25), ('cast', 0.25))}


def degrade_mixed(hr: np.ndarray, mix: str, first_seed: int, out_size: int = 16
                  ) -> np.ndarray:
  """uint8 LR [N, out, out, 3] of HR faces [N, 64, 64, 3], each made by a kind drawn from
  MIXES[mix] with the face's own seed (face i: first_seed + i)."""
  if mix not in MIXES:
    raise ValueError(f'unknown LR mix {mix!r}; known: {sorted(MIXES)}')
  kinds, shares = zip(*MIXES[mix])
  out = []
  for i, h in enumerate(hr):
    seed = first_seed + i
    kind = kinds[np.random.default_rng([seed, 0x313]).choice(len(kinds), p=shares)]
    if kind == 'bicubic':
      out.append(np.asarray(Image.fromarray(h).resize((out_size, out_size), Image.BICUBIC)))
    else:
      out.append(degrade_face(h, seed, out_size, kind)[0])
  return np.stack(out)


def degrade_face(hr: np.ndarray, seed: int, out_size: int = 16, strength: str = 'mild'
                 ) -> tuple[np.ndarray, np.ndarray]:
  """Degrades the face of `seed` with parameters and noise drawn from that seed.

  Returns:
    (lr uint8 [out, out, 3], params float32 [len(PARAM_NAMES)]).
  """
  rng = np.random.default_rng([int(seed), 0x5EED])
  params = sample_params(rng, strength)
  return degrade(hr, params, rng, out_size), params
