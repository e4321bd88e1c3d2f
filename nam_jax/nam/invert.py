"""SR-NAM inference (SR-NAM 3.4, eq. 6), one candidate: many HR candidates for one LR face
come from optimising the face prior's latent so that the degraded candidate matches the input.

For every candidate (image, seed): a starting latent from the seed's key, then `steps` Adam
steps on  L(z) = || D(G(z), n) - I_lr ||_1  with the face prior G and the degradation D fixed
(any pair implementing nam_jax/priors.py). This module holds one candidate's start, step and
finish (its options: nam_jax/nam/options.py); nam_jax/nam/search.py runs them for all candidates at once.

Where a candidate starts (`start`): the closest of `start_pool` random latents of its own seed,
rendered forward only (docs/benchmarks.md, "Speed against quality"), its seed's first latent,
or the closest of `start_pool` draws around the prior's LR-face encoder's prediction
(nam_jax/stylegan/encoder.py), with the camera the encoder predicts as the degradation's start;
`mixed`: a pool whose draws alternate between the two (random first), the camera predicted.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import optax

from nam_jax.nam.options import ENCODER_STARTS, Options
from nam_jax.degradations import Degradation
from nam_jax.priors import FacePrior


@dataclasses.dataclass(frozen=True)
class Networks:
  """The two fixed networks of SR-NAM (static parts; their weights are passed separately)."""

  prior: FacePrior
  degradation: Degradation


def near_encoder(place, share: float) -> jax.Array:
  """Whether candidate `place` (its seed's index) of a mixed start draws around the encoder's
  prediction: a `share` of the places, spread evenly (share 0.5: odd places; 0.25: 3, 7, ...;
  every place when share is 1, place 0 only then)."""
  return jnp.floor((place + 1) * share) > jnp.floor(place * share)


def initial_latents(key: jax.Array, prior_params, nets: Networks, opts: Options,
                    target: jax.Array | None = None, degradation_vars=None, place=0):
  """The starting latent and the degradation noise of one candidate.

  With opts.start_pool = K > 1 (the cheap start), K random latents of the candidate's own key
  are rendered (forward only, one at a time over the pool, all candidates at once under vmap)
  and the one whose re-degraded image is closest to `target` (LR L1, at the candidate's
  starting noise) is the start: every candidate keeps its own independent draw, so the
  candidates of one input stay as varied as their seeds, each starting from the best of K.
  With opts.start 'encoder' the K draws are around the encoder's prediction for `target`
  (FacePrior.encode / draw_near) and a camera degradation starts from the predicted camera;
  'random' takes the first draw (no pool). 'mixed' alternates random draws (even places of
  the pool, the first included) with draws around the prediction (odd places), for the
  opts.encoder_share of candidates that `near_encoder(place)` picks; the others draw at random
  only (all start from the predicted camera).
  """
  kz, kn = jax.random.split(key)
  noise_dim = nets.degradation.noise_dim
  scale = getattr(nets.degradation, 'noise_init_scale', 1.0)
  n = (jnp.zeros((noise_dim,)) if opts.noise == 'zero'
       else scale * jax.random.normal(kn, (noise_dim,)))
  centre = None
  if opts.start in ENCODER_STARTS:
    if target is None or not getattr(nets.prior, 'encodes', False):
      raise ValueError(f'start={opts.start} needs the LR target and a face prior loaded with '
                       'its encoder (the StyleGAN prior with an encoder checkpoint)')
    seen = target if target.shape[0] == 16 else jax.image.resize(
        target, (16, 16, 3), 'bicubic', antialias=True)
    centre, camera = nets.prior.encode(prior_params, seen)  # The encoder reads 16 px faces.
    if opts.noise != 'zero' and getattr(nets.degradation, 'noise_is_camera', False):
      n = camera

  mixed_here = near_encoder(place, opts.encoder_share)

  def draw(k, pool_place=0):
    if centre is None:
      z = nets.prior.initial_latent(prior_params, k)
    elif opts.start == 'mixed':  # Odd places of the pool near the prediction.
      z = jax.lax.cond(mixed_here & (pool_place % 2 == 1),
                       lambda: nets.prior.draw_near(prior_params, centre, k, opts.start_spread),
                       lambda: nets.prior.initial_latent(prior_params, k))
    else:
      z = nets.prior.draw_near(prior_params, centre, k, opts.start_spread)
    return nets.prior.project(prior_params, z) if opts.sphere else z

  if opts.start_pool <= 1 or opts.start == 'random':
    return draw(kz), n
  if target is None:
    raise ValueError('start_pool > 1 needs the LR target')

  def keep_closest(best, k_place):
    z = draw(*k_place)
    loss = objective(nets, opts, prior_params, degradation_vars, z, n, target)
    closer = loss < best[1]
    return (jnp.where(closer, z, best[0]), jnp.where(closer, loss, best[1])), loss

  pool = jax.random.split(kz, opts.start_pool)
  first = draw(pool[0])
  start = (first, objective(nets, opts, prior_params, degradation_vars, first, n, target))
  (z, _), _ = jax.lax.scan(keep_closest, start, (pool[1:], jnp.arange(1, opts.start_pool)))
  return z, n


def lr_l1(nets: Networks, prior_params, degradation_vars, z, n, target) -> jax.Array:
  """|| D(G(z), n) - target ||_1 (mean over pixels) for one candidate."""
  lr_image = nets.degradation(degradation_vars, nets.prior.generate(prior_params, z[None]),
                              n[None])[0]
  return jnp.mean(jnp.abs(lr_image - target))


ANCHOR_CELLS = 4


def cell_means(image: jax.Array, cells: int = ANCHOR_CELLS) -> jax.Array:
  """[cells, cells, 3] mean colours of an image [H, W, 3] over a cells x cells grid."""
  h, w, c = image.shape
  return image.reshape(cells, h // cells, cells, w // cells, c).mean(axis=(1, 3))


def objective(nets: Networks, opts: Options, prior_params, degradation_vars, z, n, target
              ) -> jax.Array:
  """One candidate's loss: LR L1, plus the prior's own term (FacePrior.penalty), the
  degradation's prior on its free inputs (opts.noise_prior x Degradation.penalty) and the
  colour anchor (opts.colour_anchor x L1 of the face's and the input's 4x4 cell means)."""
  hr = nets.prior.generate(prior_params, z[None])
  loss = jnp.mean(jnp.abs(nets.degradation(degradation_vars, hr, n[None])[0] - target))
  extra = getattr(nets.prior, 'penalty', lambda params, z: None)(prior_params, z)
  if extra is not None:
    loss = loss + extra
  if opts.noise_prior and hasattr(nets.degradation, 'penalty'):
    loss = loss + opts.noise_prior * nets.degradation.penalty(n)
  if opts.colour_anchor:
    loss = loss + opts.colour_anchor * jnp.mean(
        jnp.abs(cell_means(hr[0]) - cell_means(target)))
  return loss


def learning_rate_schedule(opts: Options):
  """The step size at each step: constant, or cosine decay from learning_rate to a tenth of
  it at the last step."""
  if opts.schedule == 'cosine':
    return optax.cosine_decay_schedule(opts.learning_rate, max(opts.steps - 1, 1), alpha=0.1)
  return optax.constant_schedule(opts.learning_rate)


def _optimiser(opts: Options):
  return optax.adam(learning_rate_schedule(opts), b1=opts.b1, b2=opts.b2)


def start_one(key, target, prior_params, degradation_vars, nets: Networks, opts: Options,
              place=0):
  """(variables, fixed noise, Adam state) of one candidate (its seed's index `place`) before
  its first step."""
  z, n = initial_latents(key, prior_params, nets, opts, target, degradation_vars, place)
  variables = (z, n) if opts.noise == 'optimise' else (z,)
  return variables, n, _optimiser(opts).init(variables)


def step_one(variables, opt_state, n_fixed, target, prior_params, degradation_vars,
          nets: Networks, opts: Options):
  """One Adam step of one candidate: (variables, Adam state, its objective before the step:
  the LR L1 when no other term is on)."""
  noise_lr_scale = getattr(nets.degradation, 'noise_lr_scale', 1.0)

  def loss_fn(vs):
    return objective(nets, opts, prior_params, degradation_vars, vs[0],
                     vs[1] if len(vs) > 1 else n_fixed, target)

  loss, grads = jax.value_and_grad(loss_fn)(variables)
  updates, opt_state = _optimiser(opts).update(grads, opt_state, variables)
  if len(variables) > 1:  # The degradation's own step size for its free inputs (a camera).
    updates = (updates[0], noise_lr_scale * updates[1])
  variables = optax.apply_updates(variables, updates)
  if opts.sphere:
    variables = (nets.prior.project(prior_params, variables[0]),) + tuple(variables[1:])
  return variables, opt_state, loss


def finish_one(variables, n_fixed, prior_params, nets: Networks, opts: Options):
  z = variables[0]
  if opts.mean_pull:
    z = z + opts.mean_pull * (nets.prior.mean_latent(prior_params) - z)
  return {'z': z, 'noise': variables[1] if opts.noise == 'optimise' else n_fixed}


def solve_one(key: jax.Array, target: jax.Array, prior_params, degradation_vars, *,
              nets: Networks, opts: Options) -> dict[str, jax.Array]:
  """Optimises one candidate for one LR target [16, 16, 3] in [-1, 1], all `steps` steps
  (the per-candidate reference of what the batched programs compute).

  Returns:
    z: final latent; noise: degradation noise used; history: LR L1 before each step [steps].
  """
  variables, n, opt_state = start_one(key, target, prior_params, degradation_vars, nets, opts)

  def step(carry, _):
    vs, state = carry
    vs, state, loss = step_one(vs, state, n, target, prior_params, degradation_vars, nets, opts)
    return (vs, state), loss

  (variables, _), history = jax.lax.scan(step, (variables, opt_state), None, opts.steps,
                                         unroll=opts.unroll)
  return {**finish_one(variables, n, prior_params, nets, opts), 'history': history}


def candidate_key(rng_seed: int, seed_index: int) -> jax.Array:
  """Key of candidate `seed_index`: the same for every image, so identical inputs get
  identical candidates wherever they stand in a batch."""
  return jax.random.fold_in(jax.random.key(rng_seed), seed_index)


