"""How close 64 px heads come to the full StyleGAN synthesis on styles like the search's.

  python benchmarks/head_agreement.py --heads=checkpoints/stylegan_head_cpu,runs/head2/export \
      --count=32 [--points=runs/points]

The heads' own held-out figures (model.json) are on mapped styles (W at psi 0.7 and 1). The
search leaves them: W within the sphere, W+ with rows apart. Here each head renders the same
random styles as the full network does at 1024 px (reduced to 64 px as the training faces
are), per kind: W at psi drawn from [0.5, 1], and W+ mixing two mapped styles at a random row
with per-row noise (the coarse head's training draw, nam_jax/stylegan/train_coarse.py). Prints
the mean PSNR per head and kind; a head that agrees where the search goes keeps the render
the face that was found. With --points, also on the search's own end points of the last
faces of a search_points directory (those the head trainer holds out).
"""

import json
import pathlib

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from absl import app, flags

from nam_jax.eval import metrics
from nam_jax.stylegan import head, prior, search_points, train_coarse, train_head

_HEADS = flags.DEFINE_list('heads', ['checkpoints/stylegan_head_cpu'], 'Exported 64 px heads.')
_COUNT = flags.DEFINE_integer('count', 32, 'Styles of each kind.')
_SEED = flags.DEFINE_integer('seed', 0, 'Seed of the styles.')
_OUT = flags.DEFINE_string('out', '', 'JSON written here (also printed).')
_POINTS = flags.DEFINE_string('points', '', 'A directory of search end points (nam_jax/'
                              'stylegan/search_points.py): also score the heads on its last faces.')
_POINTS_TEST = flags.DEFINE_integer('points_test_faces', 5, 'Faces of --points scored (the '
                                    'head trainer holds out as many).')


def main(argv):
  del argv
  first = prior.load(_HEADS.value[0])[1]  # The network, its style statistics, the first head.
  draw = ml_collections.ConfigDict(dict(psi_min=0.5, row_noise=0.5, w_plus_share=0.5))
  styles = {kind: train_coarse.draw_styles(jax.random.key(_SEED.value), first, _COUNT.value,
                                           draw, w_plus=kind == 'W+')
            for kind in ('W', 'W+')}
  truth = {kind: search_points.full_faces(first['synthesis'], w) for kind, w in styles.items()}
  if _POINTS.value:  # The held-out faces' search end points, with their full-network faces.
    _, held = search_points.split_by_face(search_points.load(_POINTS.value), _POINTS_TEST.value)
    styles['points'], truth['points'] = held['w'], held['image']
  out = {'count': _COUNT.value, 'heads': {}}
  for ckpt in _HEADS.value:
    spec, head_params, _ = head.load(ckpt)
    row = {}
    for kind, w in styles.items():
      faces = np.asarray(train_head.render(spec, head_params, first['synthesis'], jnp.asarray(w)))
      row[kind] = float(np.mean([metrics.psnr(a, b) for a, b in zip(faces, truth[kind])]))
    out['heads'][ckpt] = row
    print(ckpt, json.dumps(row), flush=True)
  if _OUT.value:
    pathlib.Path(_OUT.value).write_text(json.dumps(out, indent=1))


if __name__ == '__main__':
  app.run(main)
