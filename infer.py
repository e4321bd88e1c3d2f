"""Super-resolves 16x16 faces into many 64x64 candidates with SR-NAM.

  python infer.py --seeds 16                       # the bundled examples/, shipped checkpoints
  python infer.py --input=my_faces/ --out=results  # a folder (or one file) of face images
  python infer.py --input=synthetic:test --limit=10
  python infer.py --input=group_photo.jpg --align  # every face in a photo, aligned
Outputs: OUT/<input>/grid.png, OUT/<input>/cand_*.png and OUT/results.json.
Every flag left unset takes its value from the config's `nam` section (configs/common.py).

Across processes (one per host; nam_jax/multihost.py), the inputs are divided among them and
the first merges the results; `python -m nam_jax.launch --processes=2 -- infer.py ...` runs
such a job on this machine. A killed job rerun computes only the inputs not yet written.
"""

import pathlib
import sys

from absl import flags, logging

from nam_jax import cli, multihost
from nam_jax.nam import settings

REPO = pathlib.Path(__file__).resolve().parent  # Shipped checkpoints and examples live here.

_CONFIG = cli.define_config(str(REPO / 'configs' / 'cpu.py'))
# One flag per declared option (nam_jax/nam/settings.py: Settings; nam_jax/nam/options.py: Options).
_SETTING_FLAGS = settings.define_flags(flags, module_name=sys.argv[0])
multihost.define_flags(flags)


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)  # Keep the terminal to progress and results.
  config = cli.config(_CONFIG)
  try:
    job_settings = settings.from_config(
        config.nam, {k: flags.FLAGS[k].value for k in _SETTING_FLAGS}, base_dir=REPO)
  except ValueError as e:
    print(f'error: {e}', file=sys.stderr)
    sys.exit(2)
  # Every flag is checked; now XLA's CPU set-up for this prior, before JAX starts.
  from nam_jax import devices
  devices.configure_host_cpu_or_exit(ynnpack=job_settings.ynnpack)
  multihost.join_or_exit(flags.FLAGS)
  devices.enable_compilation_cache()
  from nam_jax.nam import job
  sys.exit(job.super_resolve_job(job_settings, config.data))


if __name__ == '__main__':
  cli.run(main)
