"""What the LR-face encoder costs, each part apart: one encoder pass, the search's compilation
and its start with each start mode, side by side in one run.

  python benchmarks/bench_encoder.py --config=configs/cpu.py --steps=10

For each start (pool: the StyleGAN default, the closest of 16 random latents; encoder: the
closest of 16 draws around the encoder's prediction), the first real face's 16 candidates (--kind LR) are searched
twice for --steps steps: the first run's extra time over the second is the compilation; the
second is the search. The encoder pass is timed alone, jitted, on 1 and 16 LR faces. Training
time is in the encoder's model.json (`source`) and its training log.
"""

import json
import pathlib
import time

import jax
import numpy as np
from absl import flags, logging

from nam_jax import cli

REPO = pathlib.Path(__file__).resolve().parents[1]
_CONFIG = cli.define_config(str(REPO / 'configs' / 'cpu.py'))
_STEPS = flags.DEFINE_integer('steps', 10, 'Search steps of each timed run.')
_SEEDS = flags.DEFINE_integer('seeds', 16, 'Candidates of the face.')
_REPEATS = flags.DEFINE_integer('repeats', 20, 'Encoder passes timed (median).')
_KIND = flags.DEFINE_string('kind', 'phone', 'LR kind of the real face searched (the first).')


def _encoder_pass(model, lr: np.ndarray) -> float:
  """Median seconds of one jitted encoder pass over the LR faces `lr` (float [N, 16, 16, 3])."""
  prior, params = model.nets.prior, model.prior_params
  fn = jax.jit(jax.vmap(lambda x: prior.encode(params, x)))
  jax.block_until_ready(fn(lr))
  times = []
  for _ in range(_REPEATS.value):
    t0 = time.perf_counter()
    jax.block_until_ready(fn(lr))
    times.append(time.perf_counter() - t0)
  return float(np.median(times))


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)
  from nam_jax import images, weights
  from nam_jax.data import real_faces
  from nam_jax.nam import chunks, models, settings
  from nam_jax.stylegan import encoder
  config = cli.config(_CONFIG)
  lr = images.as_float(real_faces.load().lr[_KIND.value][:1])
  rows = {}
  for start in ('pool', 'encoder'):
    job = settings.from_config(config.nam, dict(
        prior='stylegan', degradation='camera', start=start, seeds=_SEEDS.value,
        steps=_STEPS.value, progress=False), base_dir=REPO)
    model = models.load_model(job)
    t0 = time.perf_counter()
    chunks.super_resolve(model, lr, job)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    chunks.super_resolve(model, lr, job)
    second = time.perf_counter() - t0
    rows[start] = {'first_run_s': first, 'search_s': second, 'compile_s': first - second}
    if start == 'encoder':
      rows[start]['encoder_pass_1_face_ms'] = 1e3 * _encoder_pass(model, lr)
      rows[start]['encoder_pass_16_faces_ms'] = 1e3 * _encoder_pass(
          model, np.repeat(lr, 16, axis=0))
      source = weights.read_meta(job.encoder_ckpt, encoder.KIND)['source']
      rows[start]['training'] = {k: source.get(k) for k in ('steps', 'batch_size', 'config')}
  print(json.dumps({'steps': _STEPS.value, 'seeds': _SEEDS.value, 'rows': rows}, indent=1))


if __name__ == '__main__':
  cli.run(main)
