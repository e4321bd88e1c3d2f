"""What does one SR-NAM candidate-iteration cost with each face prior?

Side by side in one run: the fused SR-NAM program (vmapped Adam on the latent, LR L1 through
prior + degradation, lax.scan) for C candidates and N iterations, per prior and latent space.
Prints compile seconds, seconds per iteration (all candidates), milliseconds per
candidate-iteration and the ratio to the first row; then the extrapolated seconds for one
face with the config's default seeds and steps.

  python benchmarks/bench_priors.py --config=configs/cpu.py --candidates=16 --steps=10

Rows (--rows): progan (the config's ProGAN checkpoint), stylegan (the config's head
checkpoint, W), stylegan_wplus (the same, W+).
"""

import pathlib
import time

import jax
import jax.numpy as jnp
from absl import app, flags, logging
from ml_collections import config_flags

from nam_jax.nam import invert, models, search, settings

REPO = pathlib.Path(__file__).resolve().parents[1]
_CONFIG = config_flags.DEFINE_config_file('config', str(REPO / 'configs' / 'cpu.py'),
                                          'Config file.')
_C = flags.DEFINE_integer('candidates', 16, 'Candidates optimised together.')
_N = flags.DEFINE_integer('steps', 10, 'Iterations timed.')
_ROWS = flags.DEFINE_list('rows', ['progan', 'stylegan', 'stylegan_wplus'], 'What to time.')
_REPEATS = flags.DEFINE_integer('repeats', 2, 'Timed runs after the compiling one (median).')

_ROW_SETTINGS = {'progan': dict(prior='progan'), 'stylegan': dict(prior='stylegan'),
                 'stylegan_wplus': dict(prior='stylegan', w_plus=True)}


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)
  config = _CONFIG.value
  c, n = _C.value, _N.value
  print(f'jax {jax.__version__}, {jax.devices()[0].platform}, config {config.name}: '
        f'{c} candidates x {n} iterations')
  print(f'{"row":<16}{"compile s":>10}{"s/iteration":>12}{"ms/cand-it":>11}{"ratio":>7}'
        f'{"s/face (" + str(config.nam.seeds) + "x" + str(config.nam.steps) + ")":>18}',
        flush=True)
  targets = jax.random.uniform(jax.random.key(2), (c, 16, 16, 3), minval=-1, maxval=1)
  keys = jax.vmap(lambda s: invert.candidate_key(0, s))(jnp.arange(c))
  ref = None
  for row in _ROWS.value:
    job = settings.from_config(config.nam, dict(_ROW_SETTINGS[row], steps=n, unroll=1,
                                                progress=False), base_dir=REPO)
    model = models.load_model(job)

    def run(job=job, model=model):
      return search.solve(keys, targets, model.prior_params, model.degradation_vars,
                          nets=model.nets, opts=job.options)['z']

    t = time.perf_counter()
    jax.block_until_ready(run())
    first = time.perf_counter() - t
    times = []
    for _ in range(_REPEATS.value):
      t = time.perf_counter()
      jax.block_until_ready(run())
      times.append(time.perf_counter() - t)
    sec = sorted(times)[len(times) // 2] / n
    ref = ref or sec
    per_face = sec / c * config.nam.seeds * config.nam.steps
    print(f'{row:<16}{max(first - sec * n, 0.0):>10.1f}{sec:>12.3f}{1e3 * sec / c:>11.2f}'
          f'{sec / ref:>7.2f}{per_face:>18.1f}', flush=True)


if __name__ == '__main__':
  app.run(main)
