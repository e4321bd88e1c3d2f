"""All candidates of SR-NAM at once: the batched search infer.py runs.

One candidate's start, step and finish (nam_jax/nam/invert.py) are vmapped over a flat
candidate axis (images x seeds), which can be sharded over devices; the iterations run in a
lax.scan (`unroll` iterations per loop step; 1 is fastest on XLA:CPU, benchmarks/bench_nam.py).
`solve` is the whole search as one jit-compiled program; `run` (what infer.py uses) calls a
compiled segment of steps repeatedly and reports progress to `watch`ers between segments. The
programs hold no host callback, so JAX's persistent compilation cache keeps them.

Early stopping (`stop_patience`): converged or hopeless candidates are frozen by masks (the
shapes never change) and the loop ends once none is left.

Coarse first (`coarse_steps`): the start pool and the first steps render through the prior's
coarse view (FacePrior.coarse_view: the StyleGAN prior's 32 px coarse head), the rest and the
final render through its full head; the Adam state carries over, the early-stopping record
starts again.
"""

from __future__ import annotations

import contextlib
import dataclasses

import jax
import jax.numpy as jnp

from nam_jax.nam import invert

# Progress: `run` tells the host after each compiled segment of iterations; functions
# registered with `watch` receive each finished iteration's index.
_WATCHERS: list = []


def _report_step(step) -> None:
  for fn in tuple(_WATCHERS):
    fn(int(step))


@contextlib.contextmanager
def watch(fn):
  """Calls fn(iteration) for each iteration `run` finishes while the context is open."""
  _WATCHERS.append(fn)
  try:
    yield
  finally:
    _WATCHERS.remove(fn)


def stop_update(loss, best, since, active, same_input, opts: invert.Options):
  """Which candidates keep going after a step measured `loss` [C] (before the step).

  A candidate stops when its best LR L1 has not improved by opts.stop_tol (relative) for
  opts.stop_patience steps (converged), or, with opts.stop_behind > 0, once its best is more
  than stop_behind times the best of its input's candidates (`same_input` [C, C]: which
  candidates share an input). A stopped candidate never restarts.
  Returns (best, steps since it improved, active).
  """
  improved = loss < best * (1.0 - opts.stop_tol)
  since = jnp.where(improved, 0, since + 1)
  best = jnp.minimum(best, loss)
  keep = active & (since < opts.stop_patience)
  if opts.stop_behind:
    input_best = jnp.min(jnp.where(same_input, best[None, :], jnp.inf), axis=1)
    keep = keep & (best <= opts.stop_behind * input_best)
  return best, since, keep


def coarse_nets(nets: invert.Networks, opts: invert.Options) -> invert.Networks | None:
  """The networks of the start and the first opts.coarse_steps steps (the prior's coarse
  view), or None when coarse_steps is 0."""
  if not opts.coarse_steps:
    return None
  view = getattr(nets.prior, 'coarse_view', lambda: None)()
  if view is None:
    raise ValueError('coarse_steps needs a face prior with a coarse head (the StyleGAN prior '
                     'whose head checkpoint holds coarse/, nam_jax/stylegan/coarse.py)')
  return dataclasses.replace(nets, prior=view)


def phases(nets: invert.Networks, opts: invert.Options) -> list[tuple[invert.Networks, int]]:
  """(networks, steps) of each phase of the search, in order."""
  coarse = coarse_nets(nets, opts)
  return ([(coarse, opts.coarse_steps)] if coarse else []) + [
      (nets, opts.steps - opts.coarse_steps)]


def next_phase(state: dict) -> dict:
  """The state entering the next phase: its LR L1 is another render's, so the early-stopping
  record starts again (stopped candidates stay stopped)."""
  return {**state, 'best': jnp.full_like(state['best'], jnp.inf),
          'since': jnp.zeros_like(state['since'])}


def start_all(keys: jax.Array, targets: jax.Array, prior_params, degradation_vars, *,
              nets: invert.Networks, opts: invert.Options, places=None) -> dict:
  """The search state of every candidate before its first step (keys [C], targets [C, 16,
  16, 3], places [C]: each candidate's seed index, default 0..C-1): variables, fixed noise,
  Adam state, and the early-stopping record."""
  count = keys.shape[0]
  places = jnp.arange(count) if places is None else places
  variables, n, opt_state = jax.vmap(invert.start_one,
                                     in_axes=(0, 0, None, None, None, None, 0))(
      keys, targets, prior_params, degradation_vars, nets, opts, places)
  return {'variables': variables, 'noise': n, 'opt_state': opt_state,
          'best': jnp.full((count,), jnp.inf), 'since': jnp.zeros((count,), jnp.int32),
          'active': jnp.ones((count,), bool), 'steps_run': jnp.zeros((count,), jnp.int32)}


def _frozen_where(active, new, old):
  return jax.tree.map(
      lambda a, b: jnp.where(active.reshape((-1,) + (1,) * (a.ndim - 1)), a, b), new, old)


def steps_all(state: dict, targets: jax.Array, prior_params, degradation_vars, *,
              nets: invert.Networks, opts: invert.Options, count: int) -> tuple[dict, jax.Array]:
  """`count` more Adam steps of every candidate: (state, LR L1 before each step [count, C];
  NaN for steps not run because every candidate had stopped).

  With opts.stop_patience, stopped candidates are frozen (masks: the program's shapes never
  change) and the loop ends early once none is left; otherwise every step runs.
  """
  step = jax.vmap(invert.step_one, in_axes=(0, 0, 0, 0, None, None, None, None))
  n = state['noise']

  def advance(st):
    vs, opt_state, loss = step(st['variables'], st['opt_state'], n, targets, prior_params,
                               degradation_vars, nets, opts)
    return {**st, 'variables': vs, 'opt_state': opt_state}, loss

  if not opts.stop_patience:
    def scan_body(st, _):
      st, loss = advance(st)
      return {**st, 'steps_run': st['steps_run'] + 1}, loss
    return jax.lax.scan(scan_body, state, None, count, unroll=min(opts.unroll, count))

  same_input = jnp.all(targets[:, None] == targets[None, :], axis=(2, 3, 4))

  def cond(carry):
    j, st, _ = carry
    return (j < count) & jnp.any(st['active'])

  def body(carry):
    j, st, history = carry
    new, loss = advance(st)
    best, since, keep = stop_update(loss, st['best'], st['since'], st['active'], same_input,
                                    opts)
    # The step that finds a candidate stopped is not applied: it keeps the latent it had.
    moved = _frozen_where(keep, (new['variables'], new['opt_state']),
                          (st['variables'], st['opt_state']))
    st = {**st, 'variables': moved[0], 'opt_state': moved[1], 'best': best, 'since': since,
          'active': keep, 'steps_run': st['steps_run'] + keep.astype(jnp.int32)}
    return j + 1, st, history.at[j].set(loss)

  history = jnp.full((count, targets.shape[0]), jnp.nan)
  _, state, history = jax.lax.while_loop(cond, body, (jnp.zeros((), jnp.int32), state,
                                                      history))
  return state, history


def finish_all(state: dict, targets: jax.Array, prior_params, degradation_vars, *,
               nets: invert.Networks, opts: invert.Options) -> dict[str, jax.Array]:
  """Each candidate's latent (after mean_pull), noise, HR image, re-degraded LR image and
  final LR L1 (loss), all from one final render; steps_run: the Adam steps it took."""
  out = jax.vmap(invert.finish_one, in_axes=(0, 0, None, None, None))(
      state['variables'], state['noise'], prior_params, nets, opts)
  hr = nets.prior.generate(prior_params, out['z'])
  out['hr'] = jnp.clip(hr, -1.0, 1.0)
  out['lr'] = nets.degradation(degradation_vars, hr, out['noise'])
  out['loss'] = jnp.mean(jnp.abs(out['lr'] - targets), axis=(1, 2, 3))
  out['steps_run'] = state['steps_run']
  return out


def solve_all(keys: jax.Array, targets: jax.Array, prior_params, degradation_vars, *,
              nets: invert.Networks, opts: invert.Options, places=None
              ) -> dict[str, jax.Array]:
  """All candidates at once, as one pure function: start_all, every step, finish_all.

  Args:
    keys: [C] candidate keys. targets: [C, 16, 16, 3] LR inputs in [-1, 1]. places: [C]
      each candidate's seed index (default 0..C-1; it decides the mixed start's share).
  Returns:
    z, noise, hr [C, 64, 64, 3], lr [C, 16, 16, 3], loss [C] (final LR L1), steps_run [C],
    history [C, steps] (LR L1 before each step; after a candidate stopped, its frozen LR L1).
  """
  plan = phases(nets, opts)
  state = start_all(keys, targets, prior_params, degradation_vars, places=places,
                    nets=plan[0][0], opts=opts)
  histories = []
  for i, (phase_nets, count) in enumerate(plan):
    state = next_phase(state) if i else state
    state, history = steps_all(state, targets, prior_params, degradation_vars, count=count,
                               nets=phase_nets, opts=opts)
    histories.append(history)
  out = finish_all(state, targets, prior_params, degradation_vars, nets=nets, opts=opts)
  return {**out, 'history': _fill_stopped(jnp.concatenate(histories).T, out['loss'])}


def _fill_stopped(history, loss):
  """Steps not run because every candidate had stopped: their frozen LR L1."""
  return jnp.where(jnp.isnan(history), loss[:, None], history)


# The one-program form (benchmarks; no progress): one compilation per (shape, networks, options).
solve = jax.jit(solve_all, static_argnames=('nets', 'opts'))

# The programs infer.py runs: start, a segment of steps (called until done), the final render.
# Between segments the host reports progress; the programs have no host callbacks, so they
# are kept in JAX's persistent compilation cache (nam_jax.devices.enable_compilation_cache).
_start_program = jax.jit(start_all, static_argnames=('nets', 'opts'))
_steps_program = jax.jit(steps_all, static_argnames=('nets', 'opts', 'count'))
_finish_program = jax.jit(finish_all, static_argnames=('nets', 'opts'))


def segment_length(steps: int) -> int:
  """Steps per compiled segment: the largest divisor of `steps` up to a tenth of it (one
  program for every segment; about ten progress reports per search)."""
  return max(d for d in range(1, max(1, steps // 10) + 1) if steps % d == 0)


def run(keys: jax.Array, targets: jax.Array, prior_params, degradation_vars, *,
        nets: invert.Networks, opts: invert.Options, places=None) -> dict[str, jax.Array]:
  """solve_all's result, computed as segments of steps with progress reported to `watch`ers
  after each (every iteration index once) and an early end once every candidate stopped."""
  kw = dict(nets=nets, opts=opts)

  def placed(state):  # Every segment gets its state sharded as the candidates are (XLA may
    # return constant or empty leaves replicated): one compilation for all segments.
    return jax.device_put(state, targets.sharding) if isinstance(targets, jax.Array) else state

  plan = phases(nets, opts)
  state = placed(_start_program(keys, targets, prior_params, degradation_vars, places=places,
                                nets=plan[0][0], opts=opts))
  rows, done = [], 0
  for i, (phase_nets, count) in enumerate(plan):
    if opts.stop_patience and rows and not bool(jnp.any(state['active'])):
      break
    state = placed(next_phase(state)) if i else state
    length = segment_length(count)
    for _ in range(0, count, length):
      state, history = _steps_program(state, targets, prior_params, degradation_vars,
                                      count=length, nets=phase_nets, opts=opts)
      state = placed(state)
      rows.append(history)
      if opts.progress:
        jax.block_until_ready(history)
        for j in range(done, done + length):
          _report_step(j)
      done += length
      if opts.stop_patience and not bool(jnp.any(state['active'])):
        break
  out = _finish_program(state, targets, prior_params, degradation_vars, **kw)
  history = jnp.concatenate(rows, axis=0).T
  if history.shape[1] < opts.steps:  # Ended early: every candidate had stopped.
    history = jnp.pad(history, ((0, 0), (0, opts.steps - history.shape[1])),
                      constant_values=jnp.nan)
  return {**out, 'history': _fill_stopped(history, out['loss'])}
