"""SR-NAM inference (SR-NAM 3.4, eq. 6): many HR candidates for one LR face by optimising
the face prior's latent so that the degraded candidate matches the input.

For every candidate (image, seed): a random starting latent from the seed's key, then `steps`
Adam steps on  L(z) = || D(G(z), n) - I_lr ||_1  with the face prior G and the degradation D
fixed (any pair implementing nam_jax/priors.py). The whole optimisation of all candidates is
one jit-compiled program: the per-candidate solver is vmapped over the flat candidate axis
(images x seeds) and its iterations run in a lax.scan (`unroll` iterations per loop step; 1
is fastest on XLA:CPU once the networks use layers.conv_same, see benchmarks/bench_nam.py).
The candidate axis can be sharded over devices.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math

import jax
import jax.numpy as jnp
import optax

from nam_jax.priors import Degradation, FacePrior

NOISE_MODES = ('zero', 'sample', 'optimise')
SCHEDULES = ('constant', 'cosine')


def option(help_text: str = '', choices: tuple = (), default=dataclasses.MISSING):
  """A setting field (of Options here, of nam_jax.nam.settings.Settings); with help_text, also
  a flag of infer.py; choices: its allowed values (check_choices)."""
  return dataclasses.field(default=default,
                           metadata={'help': help_text, 'choices': tuple(choices)})


def check_choices(obj, message: str) -> None:
  """ValueError(message) for the first field of dataclass `obj` whose value is not among its
  declared choices; message is formatted with name, value, choices and known (joined)."""
  for f in dataclasses.fields(obj):
    choices, value = f.metadata.get('choices'), getattr(obj, f.name)
    if choices and value not in choices:
      raise ValueError(message.format(name=f.name, value=value, choices=choices,
                                      known=', '.join(map(str, choices))))

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
  """The two fixed networks of SR-NAM (static parts; their weights are passed separately)."""

  prior: FacePrior
  degradation: Degradation


@dataclasses.dataclass(frozen=True)
class Options:
  """How candidates are optimised. Built from a config by nam_jax.nam.settings, the one
  place defaults come from (docs/results.md, "Choosing the inference defaults"). A field with
  a `help` is a command-line flag of infer.py (nam_jax.nam.settings.define_flags)."""

  steps: int = option('Adam iterations per candidate.')
  learning_rate: float = option('Adam learning rate on the latent.')
  b1: float = option()
  b2: float = option()
  # Degradation noise: 'zero', 'sample' (fixed per seed), 'optimise'.
  noise: str = option('Degradation noise (the H2L network\'s noise, the camera\'s parameters).',
                      NOISE_MODES)
  # Project the latent back with prior.project after every step.
  sphere: bool = option('Project the latent back onto the prior\'s sphere each step.')
  # Cheikh Sidiya eq. 9: z <- z + gamma * (mean latent - z) at the end.
  mean_pull: float = option('Pull the latent toward the mean latent at the end.')
  # Loss weight on the spread of a W+ latent's rows (PULSE's cross loss in spirit): mean
  # squared distance of each row to their mean.
  spread: float = option('W+ only: loss weight on the spread of the per-layer styles.')
  unroll: int = option()     # Iterations unrolled per lax.scan step.
  schedule: str = option('Learning rate over the steps: constant, or cosine decay to a tenth.',
                         SCHEDULES)
  progress: bool = True      # Report each iteration to `watch`ers (a host callback).

  def __post_init__(self):
    check_choices(self, '{name} must be one of {choices}, got {value!r}')
    if self.steps < 1:
      raise ValueError(f'steps must be >= 1, got {self.steps}')
    if not (math.isfinite(self.learning_rate) and self.learning_rate > 0):
      raise ValueError(f'learning_rate must be finite and > 0, got {self.learning_rate}')
    if not (math.isfinite(self.spread) and self.spread >= 0):
      raise ValueError(f'spread must be finite and >= 0, got {self.spread}')
    if not 1 <= self.unroll <= self.steps:
      raise ValueError(f'unroll must be in [1, steps={self.steps}], got {self.unroll}')


def initial_latents(key: jax.Array, prior_params, nets: Networks, opts: Options):
  """The starting latent and the degradation noise of one candidate."""
  kz, kn = jax.random.split(key)
  z = nets.prior.initial_latent(prior_params, kz)
  if opts.sphere:
    z = nets.prior.project(prior_params, z)
  noise_dim = nets.degradation.noise_dim
  scale = getattr(nets.degradation, 'noise_init_scale', 1.0)
  n = (jnp.zeros((noise_dim,)) if opts.noise == 'zero'
       else scale * jax.random.normal(kn, (noise_dim,)))
  return z, n


def lr_l1(nets: Networks, prior_params, degradation_vars, z, n, target) -> jax.Array:
  """|| D(G(z), n) - target ||_1 (mean over pixels) for one candidate."""
  lr_image = nets.degradation(degradation_vars, nets.prior.generate(prior_params, z[None]),
                              n[None])[0]
  return jnp.mean(jnp.abs(lr_image - target))


def row_spread(z: jax.Array) -> jax.Array:
  """Mean squared distance (per element) of the rows of a W+ latent [R, D] to their mean;
  0 for a single-row latent [D]."""
  if z.ndim < 2:
    return jnp.zeros(())
  return jnp.mean(jnp.square(z - jnp.mean(z, axis=0, keepdims=True)))


def learning_rate_schedule(opts: Options):
  """The step size at each step: constant, or cosine decay from learning_rate to a tenth of
  it at the last step."""
  if opts.schedule == 'cosine':
    return optax.cosine_decay_schedule(opts.learning_rate, max(opts.steps - 1, 1), alpha=0.1)
  return optax.constant_schedule(opts.learning_rate)


def solve_one(key: jax.Array, target: jax.Array, prior_params, degradation_vars, *,
              nets: Networks, opts: Options) -> dict[str, jax.Array]:
  """Optimises one candidate for one LR target [16, 16, 3] in [-1, 1].

  Returns:
    z: final latent; noise: degradation noise used; history: LR L1 before each step [steps].
    (The final LR L1 is measured by solve_all from the one final render.)
  """
  z, n = initial_latents(key, prior_params, nets, opts)
  variables = (z, n) if opts.noise == 'optimise' else (z,)
  noise_lr_scale = getattr(nets.degradation, 'noise_lr_scale', 1.0)
  tx = optax.adam(learning_rate_schedule(opts), b1=opts.b1, b2=opts.b2)

  def loss_fn(vs, n_fixed):
    loss = lr_l1(nets, prior_params, degradation_vars, vs[0],
                 vs[1] if len(vs) > 1 else n_fixed, target)
    return loss + opts.spread * row_spread(vs[0]) if opts.spread else loss

  def step(carry, i):
    vs, opt_state = carry
    loss, grads = jax.value_and_grad(loss_fn)(vs, n)
    updates, opt_state = tx.update(grads, opt_state, vs)
    if len(vs) > 1:  # The degradation's own step size for its free inputs (e.g. a camera).
      updates = (updates[0], noise_lr_scale * updates[1])
    vs = optax.apply_updates(vs, updates)
    if opts.sphere:
      vs = (nets.prior.project(prior_params, vs[0]),) + tuple(vs[1:])
    if opts.progress:
      jax.debug.callback(_report_step, i)  # `i` is not batched: one call per iteration.
    return (vs, opt_state), loss

  (variables, _), history = jax.lax.scan(step, (variables, tx.init(variables)),
                                         jnp.arange(opts.steps), unroll=opts.unroll)
  z = variables[0]
  n_final = variables[1] if opts.noise == 'optimise' else n
  if opts.mean_pull:
    z = z + opts.mean_pull * (nets.prior.mean_latent(prior_params) - z)
  return {'z': z, 'noise': n_final, 'history': history}


def candidate_key(rng_seed: int, seed_index: int) -> jax.Array:
  """Key of candidate `seed_index`: the same for every image, so identical inputs get
  identical candidates wherever they stand in a batch."""
  return jax.random.fold_in(jax.random.key(rng_seed), seed_index)


def solve_all(keys: jax.Array, targets: jax.Array, prior_params, degradation_vars, *,
              nets: Networks, opts: Options) -> dict[str, jax.Array]:
  """All candidates at once: vmap of solve_one over a flat candidate axis, plus each
  candidate's HR image, its re-degraded LR image and its final LR L1 (loss), all from one
  final render.

  Args:
    keys: [C] candidate keys. targets: [C, 16, 16, 3] LR inputs in [-1, 1].
  """
  out = jax.vmap(functools.partial(solve_one, nets=nets, opts=opts),
                 in_axes=(0, 0, None, None))(keys, targets, prior_params, degradation_vars)
  hr = nets.prior.generate(prior_params, out['z'])
  out['hr'] = jnp.clip(hr, -1.0, 1.0)
  out['lr'] = nets.degradation(degradation_vars, hr, out['noise'])
  out['loss'] = jnp.mean(jnp.abs(out['lr'] - targets), axis=(1, 2, 3))
  return out


# The compiled program: one per (input shape, networks, options).
solve = jax.jit(solve_all, static_argnames=('nets', 'opts'))
