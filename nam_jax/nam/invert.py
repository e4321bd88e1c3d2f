"""SR-NAM inference (SR-NAM 3.4, eq. 6): many HR candidates for one LR face by optimising
the generator's latent so that the degraded candidate matches the input.

For every candidate (image, seed): z0 ~ N(0, I) from the seed's key, then `steps` Adam steps
on  L(z) = || H2L(G(z), n) - I_lr ||_1  with G (EMA ProGAN at 64x64) and H2L fixed. The whole
optimisation of all candidates is one jit-compiled program: the per-candidate solver is
vmapped over the flat candidate axis (images x seeds) and its iterations run in a lax.scan
(`unroll` iterations per loop step; 1 is fastest on XLA:CPU once the networks use
layers.conv_same, see benchmarks/bench_nam.py). The candidate axis can be sharded over devices.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools

import jax
import jax.numpy as jnp
import optax

from nam_jax.degrade import model as degrade_model
from nam_jax.progan import model as progan_model

NOISE_MODES = ('zero', 'sample', 'optimise')

# Progress: the compiled program tells the host each time an iteration finishes
# (jax.debug.callback); functions registered with `watch` receive the iteration index.
_WATCHERS: list = []


def _report_step(step) -> None:
  for fn in tuple(_WATCHERS):
    fn(int(step))


@contextlib.contextmanager
def watch(fn):
  """Calls fn(iteration) from inside running programs while the context is open."""
  _WATCHERS.append(fn)
  try:
    yield
  finally:
    _WATCHERS.remove(fn)


@dataclasses.dataclass(frozen=True)
class Networks:
  """The two fixed networks: their static configs and weights."""

  g_widths: tuple[int, ...]
  latent_dim: int
  h2l_widths: tuple[int, ...]
  h2l_blocks: int
  noise_dim: int

  def generate(self, g_params, z: jax.Array) -> jax.Array:
    g = progan_model.Generator(self.g_widths)
    return g.apply({'params': g_params}, z, len(self.g_widths) - 1, 1.0)

  def degrade(self, h2l_vars, hr: jax.Array, noise: jax.Array) -> jax.Array:
    h2l = degrade_model.Degrader(self.h2l_widths, self.h2l_blocks)
    return h2l.apply(h2l_vars, hr, noise, train=False)


@dataclasses.dataclass(frozen=True)
class Options:
  """How candidates are optimised (see README, "Choosing the inference defaults")."""

  steps: int = 100
  lr: float = 0.1
  b1: float = 0.9
  b2: float = 0.999
  noise: str = 'optimise'    # Degradation noise: 'zero', 'sample' (fixed per seed), 'optimise'.
  sphere: bool = False       # Project z back to the sphere of radius sqrt(latent_dim) each step.
  mean_pull: float = 0.0     # Cheikh Sidiya eq. 9: z <- z + gamma * (mean_z - z) at the end.
  unroll: int = 1            # Iterations unrolled per lax.scan step.
  progress: bool = True      # Report each iteration to `watch`ers (a host callback).

  def __post_init__(self):
    if self.noise not in NOISE_MODES:
      raise ValueError(f'noise must be one of {NOISE_MODES}, got {self.noise!r}')
    if self.steps < 1:
      raise ValueError(f'steps must be >= 1, got {self.steps}')


def initial_latents(key: jax.Array, nets: Networks, opts: Options):
  """z0 ~ N(0, I) and the degradation noise of one candidate."""
  kz, kn = jax.random.split(key)
  z = jax.random.normal(kz, (nets.latent_dim,))
  if opts.sphere:
    z = _to_sphere(z)
  n = (jnp.zeros((nets.noise_dim,)) if opts.noise == 'zero'
       else jax.random.normal(kn, (nets.noise_dim,)))
  return z, n


def _to_sphere(z: jax.Array) -> jax.Array:
  return z * jnp.sqrt(z.shape[-1]) / jnp.linalg.norm(z)


def lr_l1(nets: Networks, g_params, h2l_vars, z, n, target) -> jax.Array:
  """|| H2L(G(z), n) - target ||_1 (mean over pixels) for one candidate."""
  lr = nets.degrade(h2l_vars, nets.generate(g_params, z[None]), n[None])[0]
  return jnp.mean(jnp.abs(lr - target))


def solve_one(key: jax.Array, target: jax.Array, g_params, h2l_vars, *, nets: Networks,
              opts: Options) -> dict[str, jax.Array]:
  """Optimises one candidate for one LR target [16, 16, 3] in [-1, 1].

  Returns:
    z: final latent; noise: degradation noise used; loss: final LR L1; history: LR L1 before
    each step [steps].
  """
  z, n = initial_latents(key, nets, opts)
  variables = (z, n) if opts.noise == 'optimise' else (z,)
  tx = optax.adam(opts.lr, b1=opts.b1, b2=opts.b2)

  def loss_fn(vs, n_fixed):
    return lr_l1(nets, g_params, h2l_vars, vs[0], vs[1] if len(vs) > 1 else n_fixed, target)

  def step(carry, i):
    vs, opt_state = carry
    loss, grads = jax.value_and_grad(loss_fn)(vs, n)
    updates, opt_state = tx.update(grads, opt_state, vs)
    vs = optax.apply_updates(vs, updates)
    if opts.sphere:
      vs = (_to_sphere(vs[0]),) + tuple(vs[1:])
    if opts.progress:
      jax.debug.callback(_report_step, i)  # `i` is not batched: one call per iteration.
    return (vs, opt_state), loss

  (variables, _), history = jax.lax.scan(step, (variables, tx.init(variables)),
                                         jnp.arange(opts.steps), unroll=opts.unroll)
  z = variables[0]
  n_final = variables[1] if opts.noise == 'optimise' else n
  if opts.mean_pull:
    z = z + opts.mean_pull * (jnp.zeros_like(z) - z)  # The mean of N(0, I) latents is 0.
  return {'z': z, 'noise': n_final, 'history': history,
          'loss': lr_l1(nets, g_params, h2l_vars, z, n_final, target)}


def candidate_key(rng_seed: int, seed_index: int) -> jax.Array:
  """Key of candidate `seed_index`: the same for every image, so identical inputs get
  identical candidates wherever they stand in a batch."""
  return jax.random.fold_in(jax.random.key(rng_seed), seed_index)


def solve_all(keys: jax.Array, targets: jax.Array, g_params, h2l_vars, *, nets: Networks,
          opts: Options) -> dict[str, jax.Array]:
  """All candidates at once: vmap of solve_one over a flat candidate axis, plus each
  candidate's HR image and re-degraded LR image.

  Args:
    keys: [C] candidate keys. targets: [C, 16, 16, 3] LR inputs in [-1, 1].
  """
  out = jax.vmap(functools.partial(solve_one, nets=nets, opts=opts),
                 in_axes=(0, 0, None, None))(keys, targets, g_params, h2l_vars)
  hr = nets.generate(g_params, out['z'])
  out['hr'] = jnp.clip(hr, -1.0, 1.0)
  out['lr'] = nets.degrade(h2l_vars, hr, out['noise'])
  return out


# The compiled program: one per (input shape, networks, options).
solve = jax.jit(solve_all, static_argnames=('nets', 'opts'))
