"""Super-resolves 16x16 faces into many 64x64 candidates with SR-NAM.

  python infer.py --seeds 16                       # the bundled examples/, shipped checkpoints
  python infer.py --input=my_faces/ --out=results  # a folder (or one file) of face images
  python infer.py --input=synthetic:test --limit=10
Outputs: OUT/<input>/grid.png, OUT/<input>/cand_*.png and OUT/results.json.
"""

import sys

from absl import app, flags, logging
from ml_collections import config_flags

_CONFIG = config_flags.DEFINE_config_file('config', 'configs/cpu.py', 'Config file.')
flags.DEFINE_integer('seeds', None, 'Candidates (random starts) per input face.')
flags.DEFINE_string('input', '', 'Image file, folder, synthetic:test|train, or '
                    'tfds:wider_face:SPLIT. Default: the bundled examples/.')
flags.DEFINE_string('out', 'out', 'Output directory.')
flags.DEFINE_integer('rng_seed', 0, 'Seed of all random starts: same seed, same outputs.')
flags.DEFINE_integer('limit', 0, 'Use at most this many inputs (0 = all).')
flags.DEFINE_integer('steps', None, 'Adam iterations per candidate.')
flags.DEFINE_float('lr', None, 'Adam learning rate on z.')
flags.DEFINE_enum('noise', None, ['zero', 'sample', 'optimise'], 'Degradation noise.')
flags.DEFINE_bool('sphere', None, 'Keep z on the sphere of radius sqrt(latent_dim).')
flags.DEFINE_float('mean_pull', None, 'Pull z toward the mean latent after optimising.')
flags.DEFINE_integer('max_batch', None, 'At most this many candidates per compiled chunk.')
flags.DEFINE_string('progan_ckpt', 'checkpoints/progan_cpu', 'Exported EMA generator.')
flags.DEFINE_string('degrade_ckpt', 'checkpoints/degrade_cpu', 'Exported degradation model.')


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)  # Keep the terminal to progress and results.
  from nam_jax.nam import main as nam_main
  sys.exit(nam_main.run(_CONFIG.value, flags.FLAGS))


if __name__ == '__main__':
  app.run(main)
