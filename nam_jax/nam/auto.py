"""--degradation=auto: per input, the degradation that made it.

SR-NAM needs a degradation that can map the true face onto the input (nam_jax/eval/reach.py).
Two cover the inputs nam_jax meets: plain bicubic downsampling (no freedom: the most
constrained search, right for images shrunk by software) and the blind camera model
(nam_jax/camera/model.py: colour, gamma and blur fitted per candidate, right for photos
from a camera). The camera can explain anything bicubic can, so the search's residual cannot
choose between them (a probe that compared short searches with each chose right for only 83%
of synthetic inputs). auto reads the input instead: a small classifier
(nam_jax/degrade/lr_kind.py, trained on synthetic faces only) gives the probability that a
camera made it; the camera model is used when it is at least THRESHOLD.
"""

from __future__ import annotations

import numpy as np

SIMPLE, GENERAL = 'bicubic', 'camera'
CHOICES = (SIMPLE, GENERAL)
THRESHOLD = 0.5


def choose(camera_probability: np.ndarray, threshold: float = THRESHOLD) -> list[str]:
  """The degradation of each input: the camera model where a camera probably made it."""
  return [GENERAL if p >= threshold else SIMPLE for p in np.asarray(camera_probability)]
