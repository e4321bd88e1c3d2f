"""Super-resolves 16x16 faces into many 64x64 candidates with SR-NAM.

  python infer.py --seeds 16                       # the bundled examples/, shipped checkpoints
  python infer.py --input=my_faces/ --out=results  # a folder (or one file) of face images
  python infer.py --input=synthetic:test --limit=10
  python infer.py --input=group_photo.jpg --align  # every face in a photo, aligned
Outputs: OUT/<input>/grid.png, OUT/<input>/cand_*.png and OUT/results.json.
Every flag left unset takes its value from the config's `nam` section (configs/common.py).
"""

import pathlib
import sys

from absl import flags, logging

from nam_jax import cli

REPO = pathlib.Path(__file__).resolve().parent  # Shipped checkpoints and examples live here.

_CONFIG = cli.define_config(str(REPO / 'configs' / 'cpu.py'))
flags.DEFINE_integer('seeds', None, 'Candidates (random starts) per input face.')
flags.DEFINE_string('input', None, 'Image file, folder, synthetic:test|train, or '
                    'tfds:wider_face:SPLIT. Default: the bundled examples/.')
flags.DEFINE_string('out', None, 'Output directory.')
flags.DEFINE_integer('rng_seed', None, 'Seed of all random starts: same seed, same outputs.')
flags.DEFINE_integer('limit', None, 'Use at most this many inputs (0 = all).')
flags.DEFINE_integer('steps', None, 'Adam iterations per candidate.')
flags.DEFINE_float('learning_rate', None, 'Adam learning rate on the latent.')
flags.DEFINE_enum('noise', None, ['zero', 'sample', 'optimise'], 'Degradation noise.')
flags.DEFINE_bool('sphere', None, 'Project the latent back onto the prior\'s sphere each step.')
flags.DEFINE_float('mean_pull', None, 'Pull the latent toward the mean latent at the end.')
flags.DEFINE_float('spread', None, 'W+ only: loss weight on the spread of the per-layer styles.')
flags.DEFINE_bool('w_plus', None, 'StyleGAN prior: search W+ (one style per modulation).')
flags.DEFINE_integer('max_batch', None, 'At most this many candidates per compiled chunk.')
flags.DEFINE_string('prior', None, 'Face prior (nam_jax.priors.PRIORS).')
flags.DEFINE_string('prior_ckpt', None, 'Exported face prior (default: the config\'s).')
flags.DEFINE_enum('degradation', None, ['h2l', 'bicubic', 'bilinear', 'area', 'camera', 'auto'],
                  'What made the LR input: the learned H2L network, a known operator, the '
                  'blind camera model fitted per candidate, or auto (per input, the simplest '
                  'that explains it).')
flags.DEFINE_string('degradation_ckpt', None, 'Exported H2L degradation model.')
flags.DEFINE_enum('size', None, ['64', '128', '256', '512', '1024'], 'Output size of the '
                  'final candidates (StyleGAN prior: rendered once through the full network; '
                  'the search runs at 64 px).')
flags.DEFINE_enum('rank', None, ['fit', 'blend'], 'Order of the candidates: fit (lowest LR '
                  'L1) or blend (LR L1 and the identity most candidates agree on).')
flags.DEFINE_string('pick', None, 'With --align: FACE:RANK,... the candidate (rank from 0, as '
                    'in cand_RR) pasted back for each named face (default: the top one).')
flags.DEFINE_bool('align', None, 'Inputs are photos: find every face with dlib, align it as '
                  'the training faces are, and write a contact sheet of what was found.')

_SETTING_FLAGS = ('seeds', 'input', 'out', 'rng_seed', 'limit', 'steps', 'learning_rate',
                  'noise', 'sphere', 'mean_pull', 'spread', 'w_plus', 'max_batch', 'prior',
                  'prior_ckpt', 'degradation', 'degradation_ckpt', 'align', 'size', 'rank', 'pick')


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)  # Keep the terminal to progress and results.
  from nam_jax import devices, priors
  from nam_jax.nam import settings
  config = cli.config(_CONFIG)
  try:
    job_settings = settings.from_config(
        config.nam, {k: flags.FLAGS[k].value for k in _SETTING_FLAGS}, base_dir=REPO)
  except ValueError as e:
    print(f'error: {e}', file=sys.stderr)
    sys.exit(2)
  # XLA's CPU set-up for this prior (nam_jax.devices), before JAX starts.
  devices.configure_host_cpu_or_exit(ynnpack=job_settings.prior in priors.YNNPACK_PRIORS)
  from nam_jax.nam import job
  sys.exit(job.super_resolve_job(job_settings, config.data))


if __name__ == '__main__':
  cli.run(main)
