"""What does --size cost? One face, the default job (16 seeds x the config's steps), timed
side by side in one run at each output size: the whole super_resolve call (search + the large
render), after a compiling run of each. Prints seconds per face, the ratio to --size=64, and
the render's checks (PSNR of its 64 px reduction against the searched candidates, LR L1).

  python benchmarks/bench_size.py --config=configs/cpu.py --sizes=64,256
"""

import pathlib
import time

import numpy as np
from absl import flags, logging
from PIL import Image

from nam_jax import cli

REPO = pathlib.Path(__file__).resolve().parents[1]
_CONFIG = cli.define_config(str(REPO / 'configs' / 'cpu.py'))
_SIZES = flags.DEFINE_list('sizes', ['64', '256'], 'Output sizes to time.')
_SEEDS = flags.DEFINE_integer('seeds', 16, 'Candidates per face.')
_STEPS = flags.DEFINE_integer('steps', None, 'Steps (default: the config\'s).')


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)
  from nam_jax import devices
  devices.configure_host_cpu_or_exit(ynnpack=True)
  from nam_jax.nam import models, settings
  config = cli.config(_CONFIG)
  face = np.asarray(Image.open(REPO / 'tests' / 'data' / 'astronaut_face.png').convert('RGB'))
  lr = np.asarray(Image.fromarray(face).resize((16, 16), Image.BICUBIC))[None]
  jobs = {int(s): settings.from_config(config.nam, dict(
      size=int(s), seeds=_SEEDS.value, steps=_STEPS.value, progress=False), base_dir=REPO)
      for s in _SIZES.value}
  model = models.load_model(jobs[min(jobs)])
  for job in jobs.values():  # Compile every program first.
    models.super_resolve(model, lr, job)
  rows = {}
  for size, job in jobs.items():
    t0 = time.perf_counter()
    out = models.super_resolve(model, lr, job)
    rows[size] = (time.perf_counter() - t0, out)
  base = rows[min(rows)][0]
  print('| --size | s / face | vs 64 | render PSNR vs search (dB) | LR L1 render / search |')
  print('| --- | --- | --- | --- | --- |')
  for size, (sec, out) in rows.items():
    check = (f'{np.mean(out["render_psnr"]):.1f} | {np.mean(out["render_lr_l1"]):.4f} / '
             f'{np.mean(out["loss"]):.4f}') if 'render_psnr' in out else '- | -'
    print(f'| {size} | {sec:.1f} | {sec / base:.2f} | {check} |')


if __name__ == '__main__':
  cli.run(main)
