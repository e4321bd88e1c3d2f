"""Trains one stage of nam_jax.

  python train.py --stage=degrade --config=configs/cpu.py --workdir=runs/cpu_degrade
  python train.py --stage=progan  --config=configs/cpu.py --workdir=runs/cpu_progan
  python train.py --stage=l2h     --config=configs/cpu.py --workdir=runs/cpu_l2h    # baseline
  python train.py --stage=urdgn   --config=configs/cpu.py --workdir=runs/cpu_urdgn  # baseline
  python train.py --stage=stylegan_head --config=configs/cpu.py --workdir=runs/cpu_head
  python train.py --stage=stylegan_coarse --config=configs/cpu.py --workdir=runs/cpu_coarse
  python train.py --stage=lr_kind --config=configs/cpu.py --workdir=runs/cpu_lr_kind
The stages are the table of nam_jax/training/stages.py; each exports to WORKDIR/export.
Any config value can be overridden, e.g. --config.degrade.steps=100. Rerunning a command
resumes from the newest checkpoint in --workdir.

Across processes (one per host; nam_jax/multihost.py) every stage trains data parallel over
all their devices, each process reading its share of each batch; it resumes with any process
count. `python -m nam_jax.launch --processes=2 -- train.py ...` runs such a job here.
"""

import sys

from absl import flags, logging

from nam_jax import cli, multihost
from nam_jax.training.stages import STAGES

_CONFIG = cli.define_config('configs/cpu.py')
_STAGE = flags.DEFINE_enum('stage', None, list(STAGES), 'What to train: ' + '; '.join(
    f'{name}, {stage.help}' for name, stage in STAGES.items()) + '.')
_WORKDIR = flags.DEFINE_string('workdir', None, 'Checkpoints, logs and images go here.')
flags.mark_flags_as_required(['stage', 'workdir'])
multihost.define_flags(flags)


def _check_workdir(workdir: str) -> None:
  """One line (exit 2) when --workdir cannot hold a run, before anything is written."""
  from nam_jax import files
  why = files.writable_folder(workdir)
  if why:
    cli.fail(f'--workdir {workdir}: {why}')


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)  # Progress bars and results only.
  from nam_jax import devices
  # XLA's CPU set-up before JAX starts. One CPU device unless $NAM_JAX_HOST_DEVICES asks for
  # more: with XLA's own convolutions, data-parallel halves on 2 cores are slower than one
  # device at every stage (benchmarks/bench_train.py, docs/benchmarks.md).
  devices.configure_host_cpu_or_exit(default=1)
  multihost.join_or_exit(flags.FLAGS)
  config = cli.config(_CONFIG)
  stage = STAGES[_STAGE.value]
  if multihost.count() > 1 and not stage.multi_process:
    cli.fail(f'--stage={_STAGE.value} trains in one process; the multi-process stages are '
             + ', '.join(name for name, s in STAGES.items() if s.multi_process))
  _check_workdir(_WORKDIR.value)
  from nam_jax import weights
  from nam_jax.training import checkpoints, lock, loop, parallel
  try:
    stage.train(config, _WORKDIR.value)
    multihost.barrier('trained')  # The first process may still be exporting and evaluating.
  except (checkpoints.CheckpointDamaged, checkpoints.CheckpointMismatch, lock.WorkdirBusy,
          loop.NonFiniteError, weights.CheckpointError, parallel.SplitError) as e:
    print(f'error: {e}', file=sys.stderr)
    sys.exit(2)


if __name__ == '__main__':
  cli.run(main)
