"""Candidates grouped by person: dlib 128-d descriptors, clustered at dlib's same-person
distance (0.6).

Average-linkage agglomerative clustering cut at 0.6: two groups merge while the mean distance
between their members is under the distance dlib calls "the same person". Groups are ordered
by their best-ranked member, and members keep their rank order, so group 0 holds the top
candidate.
"""

from __future__ import annotations

import numpy as np

from nam_jax import faces


def descriptors(cands: np.ndarray) -> np.ndarray:
  """dlib descriptors [..., 128] of faces [..., 64, 64, 3] (uint8, or float in [-1, 1]), each
  measured in its own detected face box (a fixed box where none is found)."""
  from nam_jax import images
  cands = images.as_uint8(cands)
  flat = cands.reshape((-1,) + cands.shape[-3:])
  out = np.stack([faces.descriptor(c, faces.face_box(c)[0]) for c in flat])
  return out.reshape(cands.shape[:-3] + (128,))


def cluster(desc: np.ndarray, order: np.ndarray, threshold: float = faces.SAME_PERSON
            ) -> list[list[int]]:
  """Groups of candidate indices of one input (desc [S, 128]; order: indices best first)."""
  from scipy.cluster import hierarchy
  s = len(desc)
  if s == 1:
    return [[int(order[0])]]
  labels = hierarchy.fcluster(hierarchy.linkage(desc, method='average', metric='euclidean'),
                              t=threshold, criterion='distance')
  rank = {int(c): r for r, c in enumerate(order)}
  groups: dict[int, list[int]] = {}
  for c in sorted(range(s), key=lambda c: rank.get(c, s + c)):
    groups.setdefault(int(labels[c]), []).append(c)
  return sorted(groups.values(), key=lambda g: rank.get(g[0], s + g[0]))


def nearest_group(desc: np.ndarray, groups: list[list[int]], target: np.ndarray
                  ) -> tuple[int, float]:
  """(index, distance) of the group whose mean descriptor is nearest to `target` [128]."""
  dists = [float(np.linalg.norm(desc[g].mean(0) - target)) for g in groups]
  best = int(np.argmin(dists))
  return best, dists[best]
