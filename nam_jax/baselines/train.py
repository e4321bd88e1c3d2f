"""Training the baseline SR networks on (LR, HR) pairs: pure, jit-compiled steps and the loop.

One step = `n_critic` critic updates then one generator update on
  pixel_weight * MSE(G(lr), hr) + adv_weight * adversarial,
with the LR inputs made inside the step from fresh HR batches:
  lr_source 'h2l'      the shipped degradation model with random noise (Bulat 3.4-3.5: pairs
                       (H2L(HR), HR) made on the fly, a new noise vector each time)
  lr_source 'bicubic'  anti-aliased bicubic downsampling (URDGN's setting)
Losses: 'hinge' (+ gradient penalty, as our degradation GAN) or 'bce' (the original GAN loss,
URDGN eq. 3). Batches and keys are functions of the step number, so a resumed run is exact.
"""

from __future__ import annotations

import functools
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import optax

from nam_jax import gan, images, layers
from nam_jax.baselines import models, upsampler
from nam_jax.data import datasets, pipeline
from nam_jax.degradations import h2l
from nam_jax.training import lock, run, states

NETWORKS = ('l2h', 'urdgn')


State = states.Gan  # The critics have no batch statistics: d_stats is {}.


def optimizer(cfg) -> optax.GradientTransformation:
  if cfg.optimizer == 'adam':
    return optax.adam(cfg.learning_rate, b1=cfg.b1, b2=cfg.b2)
  if cfg.optimizer == 'rmsprop':
    return optax.rmsprop(cfg.learning_rate, decay=cfg.rms_decay)
  raise ValueError(f'unknown optimizer {cfg.optimizer!r}')


def networks(network: str, cfg):
  """(generator module, critic module) of a baseline config."""
  g = upsampler.from_config(network, cfg).module()
  if network == 'l2h':
    return g, layers.Critic(tuple(cfg.critic_widths), pools=4)
  return g, models.URDGNDiscriminator(tuple(cfg.critic_widths))


def init_state(network: str, cfg, key: jax.Array) -> State:
  g, d = networks(network, cfg)
  kg, kd = jax.random.split(key)
  gv = layers.init_variables(g, kg, jnp.zeros((1, 16, 16, 3)))
  dp = layers.init_variables(d, kd, jnp.zeros((1, 64, 64, 3)))['params']
  tx = optimizer(cfg)
  stats = gv.get('batch_stats', {})
  return State(gv['params'], stats, tx.init(gv['params']), dp, {}, tx.init(dp))


def make_lr(cfg, hr: jax.Array, key: jax.Array, degrader, degrader_vars) -> jax.Array:
  """The LR inputs of HR faces [B, 64, 64, 3]: learned degradation or bicubic."""
  if cfg.lr_source == 'h2l':
    noise = jax.random.normal(key, (hr.shape[0], degrader.noise_dim))
    return jax.lax.stop_gradient(degrader(degrader_vars, hr, noise))
  return jax.image.resize(hr, (hr.shape[0], 16, 16, 3), 'bicubic', antialias=True)


def _generate(g, params, stats, lr_images, train: bool):
  variables = {'params': params, **({'batch_stats': stats} if stats else {})}
  if train and stats:
    out, upd = g.apply(variables, lr_images, train=True, mutable=['batch_stats'])
    return out, upd['batch_stats']
  return g.apply(variables, lr_images, train=train), stats


def _critic_loss(cfg, real_logits, fake_logits):
  if cfg.loss == 'hinge':
    return gan.hinge_critic_loss(real_logits, fake_logits)
  return jnp.mean(optax.sigmoid_binary_cross_entropy(real_logits, 1.0)
                  + optax.sigmoid_binary_cross_entropy(fake_logits, 0.0))


def _adversarial(cfg, fake_logits):
  if cfg.loss == 'hinge':
    return gan.generator_loss(fake_logits)
  return jnp.mean(optax.sigmoid_binary_cross_entropy(fake_logits, 1.0))


def train_step(state: State, hr: jax.Array, key: jax.Array, degrader_vars, *, network: str,
               cfg, degrader) -> tuple[State, dict]:
  """n_critic critic updates, then one generator update.

  Args:
    hr: HR batches [n_critic + 1, B, 64, 64, 3] in [-1, 1].
    degrader_vars: weights of the degradation model (lr_source 'h2l'), else {}.
  """
  g, d = networks(network, cfg)
  tx = optimizer(cfg)
  d_params, d_opt = state.d_params, state.d_opt
  metrics = {}
  for i in range(cfg.n_critic):
    k_lr, k_gp = jax.random.split(jax.random.fold_in(key, i))
    lr_images = make_lr(cfg, hr[i], k_lr, degrader, degrader_vars)
    fake = jax.lax.stop_gradient(_generate(g, state.g_params, state.g_stats, lr_images,
                                           True)[0])

    def critic_loss(params, real=hr[i], fake=fake, k_gp=k_gp):
      critic = lambda x: d.apply({'params': params}, x)
      logits = critic(jnp.concatenate([real, fake]))
      b = real.shape[0]
      loss = _critic_loss(cfg, logits[:b], logits[b:])
      gp = (gan.gradient_penalty(critic, real, fake, k_gp) if cfg.gp_weight
            else jnp.zeros(()))
      return loss + cfg.gp_weight * gp, {'d_loss': loss, 'd_gp': gp}

    (_, metrics), grads = jax.value_and_grad(critic_loss, has_aux=True)(d_params)
    metrics['d_grad_norm'] = optax.global_norm(grads)
    updates, d_opt = tx.update(grads, d_opt, d_params)
    d_params = optax.apply_updates(d_params, updates)

  hr_g = hr[cfg.n_critic]
  lr_g = make_lr(cfg, hr_g, jax.random.fold_in(key, cfg.n_critic), degrader, degrader_vars)

  def generator_loss(params):
    sr, new_stats = _generate(g, params, state.g_stats, lr_g, True)
    pixel = jnp.mean((sr - hr_g) ** 2)
    adv = _adversarial(cfg, d.apply({'params': d_params}, sr))
    total = cfg.pixel_weight * pixel + cfg.adv_weight * adv
    return total, (new_stats, {'g_loss': total, 'g_pixel': pixel, 'g_adv': adv})

  (_, (g_stats, g_metrics)), grads = jax.value_and_grad(generator_loss, has_aux=True)(
      state.g_params)
  g_metrics['g_grad_norm'] = optax.global_norm(grads)
  updates, g_opt = tx.update(grads, state.g_opt, state.g_params)
  g_params = optax.apply_updates(state.g_params, updates)
  health = {'g_param_norm': optax.global_norm(g_params),
            'd_param_norm': optax.global_norm(d_params)}
  return State(g_params, g_stats, g_opt, d_params, {}, d_opt), {**metrics, **g_metrics, **health}


def make_step(network: str, cfg, degrader):
  """train_step jitted with the statics bound and the state donated."""
  return jax.jit(functools.partial(train_step, network=network, cfg=cfg, degrader=degrader),
                 donate_argnums=0)


def _degrader(cfg):
  if cfg.lr_source != 'h2l':
    return None, {}
  if not cfg.degrader_ckpt:
    raise ValueError('lr_source h2l needs degrader_ckpt (an exported degradation model)')
  deg, variables, _ = h2l.load(cfg.degrader_ckpt)
  return deg, variables


@lock.exclusive
def train(config, workdir: str | pathlib.Path, network: str) -> State:
  """Trains (or resumes) baseline `network` ('l2h' | 'urdgn') of `config` in `workdir`."""
  if network not in NETWORKS:
    raise ValueError(f'unknown baseline {network!r}; expected one of {NETWORKS}')
  cfg = config[network]
  degrader, degrader_vars = _degrader(cfg)
  hr_ds = pipeline.training_batches(datasets.hr_source(config.data, 'train'), cfg.batch_size,
                                    config.seed, config.data.flip)
  show_hr = pipeline.to_float(datasets.take(datasets.hr_source(config.data, 'test'), 8))
  show_lr = np.asarray(make_lr(cfg, jnp.asarray(show_hr), jax.random.key(1000), degrader,
                               degrader_vars))
  base_key = jax.random.key(config.seed)
  ups = upsampler.from_config(network, cfg)

  def finish(workdir, state, redo, writer):
    del writer
    if redo or not (workdir / 'export' / 'model.json').is_file():
      upsampler.export(ups, {'params': state.g_params,
                             **({'batch_stats': state.g_stats} if state.g_stats else {})},
                       workdir / 'export', {'config': config.name, 'steps': cfg.steps,
                                            'lr_source': cfg.lr_source})

  def steps():
    step = make_step(network, cfg, degrader)
    train_key = jax.random.fold_in(base_key, 1)

    def step_fn(state, k):
      hr = np.stack([hr_ds[k * (cfg.n_critic + 1) + i] for i in range(cfg.n_critic + 1)])
      return step(state, hr, jax.random.fold_in(train_key, k), degrader_vars)
    return step_fn

  def grid(state, k):
    sr = _generate(networks(network, cfg)[0], state.g_params, state.g_stats,
                   jnp.asarray(show_lr), False)[0]
    return images.grid([list(show_lr), list(np.asarray(sr)), list(show_hr)])

  return run.run(config, workdir, run.Run(
      network, cfg, init_state(network, cfg, jax.random.fold_in(base_key, 0)), steps, finish,
      grid, ('g_pixel', 'g_adv', 'd_loss')))
