"""How fast is SR-NAM inference, and which loop form should the fused program use?

Side by side in one run, on networks of a config's size (random weights: cost does not
depend on their values), for C candidates and N iterations:
  python-loop  a Python loop calling one jitted (vmapped) Adam step per iteration
  scan         the whole optimisation in one jit, lax.scan with unroll = 1, 5, 10, N
  no callback  the last scan form without its per-iteration progress callback
  sequential   the fused program run once per candidate (C = 1), C times: how restart loops
               in peer implementations spend their time
Prints compile seconds (first call minus a later call), seconds per iteration (all
candidates) and each form's ratio to python-loop.

  python benchmarks/bench_nam.py --config=configs/cpu.py --candidates=16 --steps=20
"""

import dataclasses
import time

import jax
import jax.numpy as jnp
import optax
from absl import app, flags
from ml_collections import config_flags

from nam_jax.degradations import h2l
from nam_jax.degrade import train as degrade_train
from nam_jax.nam import invert, search, settings
from nam_jax.progan import prior
from nam_jax.progan import train as progan_train

_CONFIG = config_flags.DEFINE_config_file('config', 'configs/cpu.py', 'Config file.')
_C = flags.DEFINE_integer('candidates', 16, 'Candidates optimised together.')
_N = flags.DEFINE_integer('steps', 20, 'Iterations.')
_UNROLLS = flags.DEFINE_list('unrolls', ['1', '5', '10'], 'scan unroll values to time.')
_FULL = flags.DEFINE_bool('full_unroll', True, 'Also time the fully unrolled scan.')
_SEQ = flags.DEFINE_bool('sequential', True, 'Also time one-candidate-at-a-time.')
_NO_PROGRESS = flags.DEFINE_bool('no_progress', True,
                                 'Also time the last scan form without progress callbacks.')


def _timed(fn, repeats=1):
  """(seconds of the first call: compile + one run, seconds per later run)."""
  t = time.perf_counter()
  jax.block_until_ready(fn())
  first = time.perf_counter() - t
  t = time.perf_counter()
  for _ in range(repeats):
    jax.block_until_ready(fn())
  return first, (time.perf_counter() - t) / repeats


def main(argv):
  del argv
  config = _CONFIG.value
  c, n = _C.value, _N.value
  d = degrade_train.init_state(config.degrade, jax.random.key(0))
  g = progan_train.init_state(config.progan, jax.random.key(1))
  nets = invert.Networks(
      prior.ProGANPrior(tuple(config.progan.widths), config.progan.latent_dim),
      h2l.LearnedDegradation(tuple(config.degrade.gen_widths),
                                     config.degrade.blocks_per_group, config.degrade.noise_dim))
  degrader_vars = {'params': d.g_params, 'batch_stats': d.g_stats}
  keys = jax.vmap(lambda s: invert.candidate_key(0, s))(jnp.arange(c))
  targets = jax.random.uniform(jax.random.key(2), (c, 16, 16, 3), minval=-1, maxval=1)
  print(f'jax {jax.__version__}, {jax.devices()[0].platform}, config {config.name}: '
        f'{c} candidates x {n} iterations')

  # Every form optimises z alone with the degradation noise fixed at zero, as python_loop does.
  base = settings.from_config(config.nam, dict(steps=n, learning_rate=3e-2, noise='zero',
                                               unroll=1)).options
  tx = optax.adam(base.learning_rate, b1=base.b1, b2=base.b2)

  @jax.jit
  def one_step(z, opt_state):
    def loss(z):
      return jnp.sum(jax.vmap(lambda zz, t: invert.lr_l1(
          nets, g.g_ema, degrader_vars, zz, jnp.zeros((nets.degradation.noise_dim,)), t))(
              z, targets))
    grads = jax.grad(loss)(z)
    updates, opt_state = tx.update(grads, opt_state, z)
    return optax.apply_updates(z, updates), opt_state

  z0 = jax.random.normal(jax.random.key(3), (c,) + nets.prior.latent_shape)

  def python_loop():
    z, s = z0, tx.init(z0)
    for _ in range(n):
      z, s = one_step(z, s)
    return z

  print(f'{"form":<22}{"compile s":>10}{"s/iteration":>12}{"ratio":>8}', flush=True)
  ref = None

  def row(name, timing):
    nonlocal ref
    first, sec = timing
    ref = ref or sec
    print(f'{name:<22}{max(first - sec, 0.0):>10.1f}{sec / n:>12.3f}{sec / ref:>8.2f}',
          flush=True)

  def fused(opts, lo=0, hi=c):
    return search.solve(keys[lo:hi], targets[lo:hi], g.g_ema, degrader_vars, nets=nets,
                        opts=opts)['z']

  row('python-loop', _timed(python_loop))
  unrolls = [int(x) for x in _UNROLLS.value] + ([n] if _FULL.value else [])
  for u in unrolls:
    opts = dataclasses.replace(base, unroll=u)
    row(f'scan unroll={u}', _timed(lambda opts=opts: fused(opts)))
  last = dataclasses.replace(base, unroll=unrolls[-1])
  if _NO_PROGRESS.value:
    quiet = dataclasses.replace(last, progress=False)
    row(f'unroll={last.unroll} no callback', _timed(lambda: fused(quiet)))
  if _SEQ.value:
    row(f'sequential x{c} u={last.unroll}',
        _timed(lambda: [fused(last, i, i + 1) for i in range(c)]))


if __name__ == '__main__':
  app.run(main)
