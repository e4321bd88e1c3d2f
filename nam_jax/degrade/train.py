"""Training the High-to-Low degradation GAN: pure, jit-compiled steps and the train loop.

One step = `n_critic` critic updates (hinge loss + gradient penalty) then one generator update
(alpha * (gamma * L1 + delta * VGG16 perceptual) + beta * GAN + diversity term), each on fresh
batches. The pixel and perceptual terms compare the LR output with the HR image average-pooled
to 16x16. The diversity term (cfg.diversity_weight > 0; a diversity-sensitive loss with a
bound, as in DSGAN) degrades each face twice with two noise vectors and adds
weight * max(0, diversity_target - mean |s(LR_1) - s(LR_2)|), where s are an image's global
statistics (statistics.py: per-channel mean, contrast and sharpness). Without it the network
learns to ignore its noise input, and the search cannot adapt the degradation to an
input; measured on pixels instead, the term is met by per-pixel colour speckle (tried: the
outputs for different noise differed only in speckle, not in cast or blur).
Batches and PRNG keys are pure functions of the step number, so a resumed run is exact.
Across processes (nam_jax/multihost.py) the step is data parallel over every device of the
job, each process reading its share of each batch (nam_jax/training/parallel.py).
"""

from __future__ import annotations

import functools
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import optax

from nam_jax import files, gan, layers, losses, multihost
from nam_jax.data import datasets, pipeline
from nam_jax.degrade import model, scores, statistics
from nam_jax.degradations import h2l
from nam_jax.eval import vgg
from nam_jax.training import lock, loop, parallel, run, states


State = states.Gan


def optimizer(cfg) -> optax.GradientTransformation:
  return optax.adam(cfg.learning_rate, b1=cfg.b1, b2=cfg.b2)


def init_state(cfg, key: jax.Array) -> State:
  g, d = model.from_config(cfg)
  kg, kd = jax.random.split(key)
  gv = layers.init_variables(g, kg, jnp.zeros((1, 64, 64, 3)), jnp.zeros((1, cfg.noise_dim)))
  dv = layers.init_variables(d, kd, jnp.zeros((1, 16, 16, 3)))
  tx = optimizer(cfg)
  return State(gv['params'], gv['batch_stats'], tx.init(gv['params']),
               dv['params'], dv.get('batch_stats', {}), tx.init(dv['params']))


def _apply_critic(d, params, stats, x, train: bool):
  variables = {'params': params, **({'batch_stats': stats} if stats else {})}
  if train and stats:  # Spectral norm: power-iteration vectors live in batch_stats.
    out, upd = d.apply(variables, x, train=True, mutable=['batch_stats'])
    return out, upd['batch_stats']
  return d.apply(variables, x, train=False), stats


def pixel_target(hr: jax.Array) -> jax.Array:
  """F in SR-NAM eq. 4: the HR image average-pooled to the LR resolution (Bulat 3.5)."""
  return layers.avg_pool(hr, 4)


def _critic_step(cfg, g, d, g_params, g_stats, critic, hr: jax.Array, real: jax.Array,
                 key: jax.Array) -> tuple[tuple, dict]:
  """One critic step on a batch of real LR faces against degradations of the HR batch `hr`:
  the critic's (params, batch statistics, optimiser state) after it, and its metrics."""
  d_params, d_stats, d_opt = critic
  b = hr.shape[0]
  k_noise, k_gp = jax.random.split(key)
  noise = jax.random.normal(k_noise, (b, cfg.noise_dim))
  fake = jax.lax.stop_gradient(model.degrade_training(g, g_params, g_stats, hr, noise)[0])

  def critic_loss(params, stats):
    both, new_stats = _apply_critic(d, params, stats, jnp.concatenate([real, fake]), True)
    d_real, d_fake = both[:b], both[b:]
    gp = gan.gradient_penalty(lambda x: _apply_critic(d, params, new_stats, x, False)[0],
                              real, fake, k_gp)
    loss = gan.hinge_critic_loss(d_real, d_fake) + cfg.gp_weight * gp
    return loss, (new_stats, {'d_loss': loss, 'd_gp': gp, 'd_real': jnp.mean(d_real),
                              'd_fake': jnp.mean(d_fake)})

  (_, (d_stats, metrics)), grads = jax.value_and_grad(critic_loss, has_aux=True)(
      d_params, d_stats)
  metrics['d_grad_norm'] = optax.global_norm(grads)
  updates, d_opt = optimizer(cfg).update(grads, d_opt, d_params)
  return (optax.apply_updates(d_params, updates), d_stats, d_opt), metrics


def _generator_loss(params, cfg, g, d, g_stats, d_params, d_stats, hr_g: jax.Array,
                    key: jax.Array, vgg_params):
  """(total, (batch statistics, metrics)) of the generator on the HR batch hr_g: L1 (and
  VGG16) to the pooled HR face, the critic's adversarial term and the diversity term."""
  b = hr_g.shape[0]
  noise = jax.random.normal(jax.random.fold_in(key, cfg.n_critic), (b, cfg.noise_dim))
  target = pixel_target(hr_g)
  if cfg.diversity_weight:  # The same faces twice, with two noise vectors.
    noise2 = jax.random.normal(jax.random.fold_in(key, cfg.n_critic + 1), noise.shape)
    both, new_stats = model.degrade_training(g, params, g_stats, jnp.concatenate([hr_g, hr_g]),
                                             jnp.concatenate([noise, noise2]))
    fake, fake2 = both[:b], both[b:]
    spread = jnp.mean(jnp.abs(statistics.image_statistics(fake) -
                              statistics.image_statistics(fake2)))
  else:
    fake, new_stats = model.degrade_training(g, params, g_stats, hr_g, noise)
    spread = jnp.zeros(())
  adv = gan.generator_loss(_apply_critic(d, d_params, d_stats, fake, False)[0])
  l1 = jnp.mean(jnp.abs(fake - target))
  perc = (losses.perceptual_loss(vgg_params, fake, target, cfg.perceptual_taps,
                                 cfg.perceptual_size)
          if cfg.delta else jnp.zeros(()))
  total = cfg.alpha * (cfg.gamma * l1 + cfg.delta * perc) + cfg.beta * adv
  if cfg.diversity_weight:
    total = total + cfg.diversity_weight * jax.nn.relu(cfg.diversity_target - spread)
  return total, (new_stats, {'g_loss': total, 'g_adv': adv, 'g_l1': l1, 'g_perceptual': perc,
                             'g_spread': spread})


def train_step(state: State, hr: jax.Array, lr_images: jax.Array, key: jax.Array, vgg_params,
               *, cfg) -> tuple[State, dict]:
  """One generator step preceded by cfg.n_critic critic steps.

  Args:
    state: the training state (donated).
    hr: HR batches [n_critic + 1, B, 64, 64, 3] in [-1, 1]: one per critic step, one for G.
    lr_images: real-world LR batches [n_critic, B, 16, 16, 3].
    key: this step's key (derived from the step number by the caller).
    vgg_params: VGG16 weights (unused when cfg.delta == 0).
  """
  g, d = model.from_config(cfg)
  critic, metrics = (state.d_params, state.d_stats, state.d_opt), {}
  # A Python loop: unrolled in the compiled program (rolled loops are slow on XLA:CPU).
  for i in range(cfg.n_critic):
    critic, metrics = _critic_step(cfg, g, d, state.g_params, state.g_stats, critic, hr[i],
                                   lr_images[i], jax.random.fold_in(key, i))
  d_params, d_stats, d_opt = critic
  (_, (g_stats, g_metrics)), grads = jax.value_and_grad(_generator_loss, has_aux=True)(
      state.g_params, cfg, g, d, state.g_stats, d_params, d_stats, hr[cfg.n_critic], key,
      vgg_params)
  g_metrics['g_grad_norm'] = optax.global_norm(grads)
  updates, g_opt = optimizer(cfg).update(grads, state.g_opt, state.g_params)
  g_params = optax.apply_updates(state.g_params, updates)
  # Norms of the updated weights: the non-finite guard sees a blown-up update before it is
  # checkpointed.
  health = {'g_param_norm': optax.global_norm(g_params),
            'd_param_norm': optax.global_norm(d_params)}
  return (State(g_params, g_stats, g_opt, d_params, d_stats, d_opt),
          {**metrics, **g_metrics, **health})


def make_step(cfg, mesh=None):
  """train_step jitted with the config bound and the state donated; over a mesh of several
  devices, data parallel (the HR and LR batches split along their batch axis)."""
  if mesh is None:
    return jax.jit(functools.partial(train_step, cfg=cfg), donate_argnums=0)
  return parallel.jit_step(functools.partial(train_step, cfg=cfg), mesh, (1, 1, None, None))


def step_batches(hr_ds, lr_ds, step: int, n_critic: int) -> tuple[np.ndarray, np.ndarray]:
  """The HR and LR batches of a step: a pure function of the step number."""
  hr = np.stack([hr_ds[step * (n_critic + 1) + i] for i in range(n_critic + 1)])
  lr_images = np.stack([lr_ds[step * n_critic + i] for i in range(n_critic)])
  return hr, lr_images


def sample_grid(cfg, state: State, hr: np.ndarray, real_lr: np.ndarray, n_noise: int = 4):
  """Rows: HR face | its degradations under n_noise fixed noise vectors | a real LR face."""
  outs = [np.asarray(model.degrade_images(cfg, state.g_params, state.g_stats, hr,
                                    jax.random.key(1000 + j))) for j in range(n_noise)]
  rows = [[hr[i]] + [o[i] for o in outs] + [real_lr[i]] for i in range(len(hr))]
  return rows


def _lr_train(config):
  """The unpaired real-world LR faces the critic learns from: the data's LR training split,
  or (cfg.lr_mix, synthetic data only) faces made LR in memory by a mixture of
  nam_jax.data.camera_sim.MIXES from the second half of the HR training split (the
  generator's HR batches draw from all of it; the GAN is unpaired, so no pair is ever
  shown)."""
  mix = config.degrade.lr_mix
  if not mix:
    return datasets.lr_source(config.data, 'train')
  from nam_jax.data import camera_sim as simulate
  hr = datasets.hr_source(config.data, 'train')
  half = len(hr) // 2
  faces = np.stack([hr[i] for i in range(half, len(hr))])
  loop.say(f'making {len(faces)} LR training faces with the {mix!r} mixture')
  return datasets.ArraySource(simulate.degrade_mixed(faces, mix, first_seed=80_000_000))


@lock.exclusive
def train(config, workdir: str | pathlib.Path) -> State:
  """Trains (or resumes) the degradation GAN of `config` in `workdir`; returns the state.
  Exports the generator (weights only) to workdir/export and writes the Frechet report to
  workdir/eval.json."""
  from nam_jax import images
  cfg = config.degrade
  # The first process renders missing data into the shared cache; the others then read it.
  hr_train, lr_train = multihost.primary_first(
      lambda: (datasets.hr_source(config.data, 'train'), _lr_train(config)), 'degrade data')
  mesh = parallel.mesh(cfg.batch_size, first_device_only=True)
  n_show = 8
  show_hr = pipeline.to_float(datasets.take(datasets.hr_source(config.data, 'test'), n_show))
  show_lr = pipeline.to_float(datasets.take(lr_train, n_show))
  base_key = jax.random.key(config.seed)

  def steps():
    shard = parallel.shard_of_process(cfg.batch_size)
    hr_ds = pipeline.training_batches(hr_train, cfg.batch_size, config.seed, config.data.flip,
                                      shard)
    lr_ds = pipeline.training_batches(lr_train, cfg.batch_size, config.seed + 1,
                                      config.data.flip, shard)
    vgg_params = parallel.replicate(vgg.load_params() if cfg.delta else {}, mesh)
    step = make_step(cfg, mesh)
    train_key = jax.random.fold_in(base_key, 1)

    def step_fn(state, k):
      hr, lr_images = step_batches(hr_ds, lr_ds, k, cfg.n_critic)
      return step(state, parallel.global_batch(hr, mesh, 1),
                  parallel.global_batch(lr_images, mesh, 1), jax.random.fold_in(train_key, k),
                  vgg_params)
    return step_fn

  def finish(workdir, state, redo, writer):
    if redo or not (workdir / 'export' / 'model.json').is_file():
      h2l.export(cfg, state.g_params, state.g_stats, workdir / 'export',
                 {'config': config.name, 'steps': cfg.steps})
    if cfg.eval_samples and (redo or not (workdir / 'eval.json').is_file()):
      result = scores.frechet_report(config, state.g_params, state.g_stats)
      if writer is not None:
        writer.scalars(cfg.steps, result)
      files.write_json(workdir / 'eval.json', result)
      loop.say(f'Frechet VGG16 distances: {result}')

  initial = parallel.initial(init_state(cfg, jax.random.fold_in(base_key, 0)), cfg.batch_size)
  return run.run(config, workdir, run.Run(
      'degrade', cfg, initial, steps, finish,
      lambda s, k: images.grid(sample_grid(cfg, s, show_hr, show_lr)),
      ('d_loss', 'g_loss', 'g_l1', 'g_adv', 'g_spread')))
