"""Training the Progressive GAN: a schedule of stages, one compiled step per stage.

Loss: WGAN-GP with drift (Karras 2017, A.1). Real images are average-pooled to the stage's
resolution and, during a fade-in, blended with their own 2x-coarser version by the same
alpha as the networks. An exponential moving average of the generator weights is what
samples, figures and inference use. The global step numbers checkpoints; the stage, its
step and alpha are functions of it, so a run resumes mid-stage exactly. Across processes
(nam_jax/multihost.py) every stage is data parallel over every device of the job, each
process reading its share of each batch (nam_jax/training/parallel.py).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import pathlib
import time
from typing import Any

import flax
import jax
import jax.numpy as jnp
import numpy as np
import optax

from nam_jax import devices, files, gan, images, layers, multihost
from nam_jax.data import datasets, pipeline
from nam_jax.eval import frechet
from nam_jax.progan import model, prior
from nam_jax.training import checkpoints, lock, loop, parallel


@flax.struct.dataclass
class State:
  g_params: Any
  g_ema: Any
  g_opt: Any
  d_params: Any
  d_opt: Any


@dataclasses.dataclass(frozen=True)
class Schedule:
  """Images shown per phase, as Karras et al. count them, turned into steps.

  Each stage after the first fades its new block in over `fade_images` images, then
  stabilises for `stable_images`; a global step maps to (stage, step in stage), so a run
  resumes mid-phase exactly. The last stage's stabilise phase may also end on a wall-time
  budget (`minutes`, see `train`).
  """

  fade_steps: tuple[int, ...]
  stable_steps: tuple[int, ...]
  batch_sizes: tuple[int, ...]

  @classmethod
  def from_config(cls, cfg) -> 'Schedule':
    n = len(cfg.batch_sizes)
    if not len(cfg.fade_images) == len(cfg.stable_images) == n:
      raise ValueError(f'progan.fade_images, stable_images and batch_sizes need one entry per '
                       f'stage ({n}); got {len(cfg.fade_images)} and {len(cfg.stable_images)}')
    if any(i < 0 for i in (*cfg.fade_images, *cfg.stable_images)):
      raise ValueError('progan.fade_images and stable_images must not be negative')
    steps = lambda images, b: math.ceil(images / b)
    fade = tuple(0 if s == 0 else steps(f, b)
                 for s, (f, b) in enumerate(zip(cfg.fade_images, cfg.batch_sizes)))
    stable = tuple(max(1, steps(i, b)) for i, b in zip(cfg.stable_images, cfg.batch_sizes))
    return cls(fade, stable, tuple(cfg.batch_sizes))

  @property
  def steps(self) -> tuple[int, ...]:
    return tuple(f + s for f, s in zip(self.fade_steps, self.stable_steps))

  @property
  def total(self) -> int:
    return sum(self.steps)

  def images(self, stage: int) -> int:
    """Images shown in a whole stage."""
    return self.steps[stage] * self.batch_sizes[stage]

  def start(self, stage: int) -> int:
    return sum(self.steps[:stage])

  def locate(self, global_step: int) -> tuple[int, int]:
    for stage, n in enumerate(self.steps):
      if global_step < self.start(stage) + n:
        return stage, global_step - self.start(stage)
    return len(self.steps) - 1, self.steps[-1]

  def alpha(self, stage: int, step_in_stage: int) -> float:
    """Fade-in weight of the newest block: ramps 0 -> 1 over the fade phase."""
    fade = self.fade_steps[stage]
    return 1.0 if fade == 0 else min(1.0, step_in_stage / fade)


def optimizer(cfg) -> optax.GradientTransformation:
  return optax.adam(cfg.learning_rate, b1=cfg.b1, b2=cfg.b2, eps=cfg.eps)


def init_state(cfg, key: jax.Array) -> State:
  g, d = model.from_config(cfg)
  kg, kd = jax.random.split(key)
  gp = g.init_all(kg, cfg.latent_dim)['params']
  dp = d.init_all(kd)['params']
  tx = optimizer(cfg)
  # The EMA starts as a copy: donated state must not hold one buffer twice.
  return State(gp, jax.tree.map(jnp.copy, gp), tx.init(gp), dp, tx.init(dp))


def ema_update(ema, params, decay: float):
  """ema <- decay * ema + (1 - decay) * params."""
  return jax.tree.map(lambda e, p: decay * e + (1.0 - decay) * p, ema, params)


def real_at_stage(x64: jax.Array, stage: int, alpha) -> jax.Array:
  """HR batch pooled to the stage resolution and faded like the networks."""
  x = layers.avg_pool(x64, 64 // model.resolution(stage)) if stage < 4 else x64
  if stage == 0:
    return x
  return alpha * x + (1.0 - alpha) * model.upsample(layers.avg_pool(x))


def ema_decay(cfg, global_step: int, batch_size: int) -> float:
  """EMA decay of one step, with warm-up min(decay, (1 + t) / (10 + t)) so the average does
  not drag the random initial weights along in short runs.

  With `ema_half_life_images` > 0 the decay is 0.5 ** (batch / half-life): the average
  forgets at the same rate per image shown whatever the stage's batch (StyleGAN's 10k-image
  half-life; ProGAN used a fixed 0.999 per step); otherwise the fixed per-step `ema_decay`.
  """
  decay = (0.5 ** (batch_size / cfg.ema_half_life_images) if cfg.ema_half_life_images
           else cfg.ema_decay)
  return min(decay, (1.0 + global_step) / (10.0 + global_step))


def train_step(state: State, real64: jax.Array, alpha: jax.Array, decay: jax.Array,
               key: jax.Array, *, cfg, stage: int, batch_sharding=None) -> tuple[State, dict]:
  """cfg.n_critic critic updates then one generator update and the EMA update.

  Args:
    real64: HR batches [n_critic, B, 64, 64, 3] in [-1, 1].
    alpha: fade-in weight of this step (a traced scalar: one compilation per stage).
    decay: EMA decay of this step (traced, see ema_decay).
    batch_sharding: how [B, ...] arrays are split over devices (data parallel; the state is
      replicated and XLA sums the gradients), or None on one device. Same maths either way.
  """
  g, d = model.from_config(cfg)
  tx = optimizer(cfg)
  b = real64.shape[1]
  latents = lambda k: _constrain(jax.random.normal(k, (b, cfg.latent_dim)), batch_sharding)
  d_params, d_opt = state.d_params, state.d_opt
  metrics = {}
  for i in range(cfg.n_critic):
    k_z, k_gp = jax.random.split(jax.random.fold_in(key, i))
    real = _constrain(real_at_stage(real64[i], stage, alpha), batch_sharding)
    fake = jax.lax.stop_gradient(g.apply({'params': state.g_params}, latents(k_z), stage,
                                         alpha))

    def critic_loss(params, real=real, fake=fake, k_gp=k_gp):
      critic = lambda x: d.apply({'params': params}, x, stage, alpha)
      logits = critic(jnp.concatenate([real, fake]))
      d_real, d_fake = logits[:b], logits[b:]
      gp = gan.gradient_penalty(critic, real, fake, k_gp)
      drift = jnp.mean(d_real ** 2)
      loss = gan.wgan_critic_loss(d_real, d_fake) + cfg.gp_weight * gp + cfg.drift * drift
      return loss, {'d_loss': loss, 'd_gp': gp, 'd_drift': drift,
                    'wasserstein': jnp.mean(d_real) - jnp.mean(d_fake)}

    (_, metrics), grads = jax.value_and_grad(critic_loss, has_aux=True)(d_params)
    metrics['d_grad_norm'] = optax.global_norm(grads)
    updates, d_opt = tx.update(grads, d_opt, d_params)
    d_params = optax.apply_updates(d_params, updates)

  z = latents(jax.random.fold_in(key, cfg.n_critic))

  def generator_loss(params):
    fake = g.apply({'params': params}, z, stage, alpha)
    return gan.generator_loss(d.apply({'params': d_params}, fake, stage, alpha))

  g_loss, grads = jax.value_and_grad(generator_loss)(state.g_params)
  updates, g_opt = tx.update(grads, state.g_opt, state.g_params)
  g_params = optax.apply_updates(state.g_params, updates)
  g_ema = ema_update(state.g_ema, g_params, decay)
  metrics.update(g_loss=g_loss, g_grad_norm=optax.global_norm(grads),
                 g_param_norm=optax.global_norm(g_params),
                 d_param_norm=optax.global_norm(d_params))
  return State(g_params, g_ema, g_opt, d_params, d_opt), metrics


# With several devices (a multi-GPU host, or NAM_JAX_HOST_DEVICES > 1 on a CPU), data parallel
# from this resolution up; the small early stages stay on one device. On the 2-core CPU the
# split never pays with XLA's own convolutions (one device is as fast or faster at every stage,
# benchmarks/bench_train.py), so train.py asks for one CPU device unless told otherwise.
DATA_PARALLEL_FROM = 16


def stage_mesh(stage: int, batch: int):
  """The devices a stage trains on: all of them (batch split) from DATA_PARALLEL_FROM px
  when there are several, else the first; every device of a multi-process job."""
  return parallel.mesh(batch, first_device_only=model.resolution(stage) < DATA_PARALLEL_FROM)


def _constrain(x: jax.Array, sharding) -> jax.Array:
  return x if sharding is None else jax.lax.with_sharding_constraint(x, sharding)


def make_step(cfg, stage: int, mesh=None):
  """train_step of one stage, jitted with the config and stage bound and the state donated;
  with a mesh, data parallel over its devices (the batch split, the state replicated)."""
  if mesh is None or mesh.size == 1:
    return jax.jit(functools.partial(train_step, cfg=cfg, stage=stage), donate_argnums=0)
  return parallel.jit_step(functools.partial(train_step, cfg=cfg, stage=stage,
                                             batch_sharding=devices.sharded(mesh)),
                           mesh, (1, None, None, None))


@functools.partial(jax.jit, static_argnames=('widths', 'stage'))
def _sample(params, z, alpha, stage, widths):
  return model.Generator(widths).apply({'params': params}, z, stage, alpha)


def sample(cfg, params, z: jax.Array, stage: int, alpha: float = 1.0) -> jax.Array:
  """Images of latents z at a stage (by default with its new block fully faded in)."""
  return _sample(params, z, jnp.float32(alpha), stage, tuple(cfg.widths))


def fixed_latents(cfg, n: int = 16, seed: int = 1234) -> jax.Array:
  """The latents shown in every grid, so grids of different steps and stages compare."""
  return jax.random.normal(jax.random.key(seed), (n, cfg.latent_dim))


def stage_fvd(config, params, stage: int, hr_test: np.ndarray) -> float:
  """Frechet VGG16 distance of EMA samples vs HR test faces, both at the stage resolution."""
  cfg = config.progan
  n = len(hr_test)
  res = model.resolution(stage)
  outs = [np.asarray(sample(cfg, params, jax.random.normal(jax.random.key(10_000 + i),
                                                           (min(100, n - i), cfg.latent_dim)),
                            stage)) for i in range(0, n, 100)]
  fake = np.clip(np.concatenate(outs), -1, 1)
  real = pipeline.to_float(hr_test)
  if res < 64:
    real = np.asarray(layers.avg_pool(jnp.asarray(real), 64 // res))
  return frechet.frechet_distance(frechet.embed(fake), frechet.embed(real))


def _finish_stage(config, state: State, stage: int, z_show, hr_test, fvd: dict,
                  writer: loop.Writer, step: int) -> None:
  """A stage's row of images/stages.png and its Frechet VGG16 distance (added to `fvd`)."""
  cfg = config.progan
  np.save(writer.workdir / 'images' / f'stage{stage}_final.npy',
          np.asarray(sample(cfg, state.g_ema, z_show[:8], stage)))
  if cfg.eval_samples:
    fvd[str(stage)] = stage_fvd(config, state.g_ema, stage, hr_test)
    writer.scalars(step, {f'fvd_stage{stage}': fvd[str(stage)]})
    loop.say(f'stage {stage} ({model.resolution(stage)}px): Frechet VGG16 distance '
             f'{fvd[str(stage)]:.2f}')


def _images_shown(schedule: Schedule, global_step: int) -> list[int]:
  """Images shown per stage up to a global step."""
  return [max(0, min(global_step - schedule.start(s), n)) * schedule.batch_sizes[s]
          for s, n in enumerate(schedule.steps)]


@dataclasses.dataclass
class _Run:
  """What every phase of one ProGAN run shares."""
  config: Any
  schedule: Schedule
  hr_train: Any
  hr_test: Any
  mngr: Any
  writer: loop.Writer
  fvd: dict             # Frechet VGG16 distance per finished stage (checkpointed).
  spent: float          # Seconds spent in the last stage by earlier sessions (cfg.minutes).
  z_show: jax.Array
  train_key: jax.Array


def _train_stage(r: _Run, stage: int, state: State, start: int) -> State:
  """Runs stage `stage`'s remaining steps from global step `start`: its data, devices and
  step, the hooks that draw, score and checkpoint it, and (last stage) its wall-time budget."""
  cfg, schedule = r.config.progan, r.schedule
  first, last = schedule.start(stage), schedule.start(stage) + schedule.steps[stage]
  budget = 60.0 * cfg.minutes
  timed = stage == len(schedule.steps) - 1 and bool(budget)
  resumed_at = time.monotonic()
  ds = pipeline.training_batches(r.hr_train, schedule.batch_sizes[stage],
                                 r.config.seed + 10 * stage, r.config.data.flip,
                                 parallel.shard_of_process(schedule.batch_sizes[stage]))
  mesh = stage_mesh(stage, schedule.batch_sizes[stage])
  state = parallel.replicate(state, mesh)
  if mesh.size > 1:
    loop.say(f'{model.resolution(stage)} px: data parallel over {mesh.size} devices')
  step = make_step(cfg, stage, mesh)

  def step_fn(state, k):
    local = k - first
    real = parallel.global_batch(
        np.stack([ds[local * cfg.n_critic + i] for i in range(cfg.n_critic)]), mesh, 1)
    alpha = np.float32(schedule.alpha(stage, local))
    decay = np.float32(ema_decay(cfg, k, schedule.batch_sizes[stage]))
    return step(state, real, alpha, decay, jax.random.fold_in(r.train_key, k))

  def finish(k, state):  # Figure row and quality go into k's checkpoint.
    _finish_stage(r.config, state, stage, r.z_show, r.hr_test, r.fvd, r.writer, k)

  def save(k, state):
    seconds = r.spent + (time.monotonic() - resumed_at if timed else 0.0)
    checkpoints.save(r.mngr, k, state, {'global_step': k, 'stage': schedule.locate(k)[0],
                                        'fvd': r.fvd, 'schedule': list(schedule.steps),
                                        'last_stage_seconds': seconds})

  def grid(state, k):
    # What the network makes at step k: mid fade-in, the blend with the previous stage.
    alpha = schedule.alpha(stage, k - first)
    return images.grid([np.asarray(sample(cfg, state.g_ema, r.z_show[:8], stage, alpha)),
                        np.asarray(sample(cfg, state.g_ema, r.z_show[8:], stage, alpha))])

  plan = loop.Plan(max(start, first), last, cfg.log_every, cfg.ckpt_every, cfg.image_every,
                   total=schedule.total, desc=f'progan {model.resolution(stage)}px',
                   show=('wasserstein', 'd_loss', 'g_loss', 'd_gp'),
                   deadline=resumed_at + budget - r.spent if timed else None,
                   earliest_stop=first + schedule.fade_steps[stage])
  hooks = loop.Hooks(save, grid, f'progan_stage{stage}', {'stage': stage}, finish)
  return loop.train_loop(state, step_fn, plan, hooks, r.writer)


def _export(r: _Run, state: State, workdir: pathlib.Path) -> None:
  """The EMA generator in workdir/export, the stages' figure and the Frechet distances."""
  step = r.mngr.latest_step()
  prior.export(r.config.progan, parallel.host_copy(state.g_ema), workdir / 'export',
               {'config': r.config.name, 'global_steps': step,
                'images_shown': _images_shown(r.schedule, step), 'fvd_per_stage': r.fvd})
  rows = [np.load(p) for p in sorted((workdir / 'images').glob('stage*_final.npy'))]
  if rows:
    images.save_png(workdir / 'images' / 'stages.png', images.grid(rows))
  files.write_json(workdir / 'eval.json', {'fvd_per_stage': r.fvd})


@lock.exclusive
def train(config, workdir: str | pathlib.Path) -> State:
  """Trains (or resumes) the Progressive GAN of `config` in `workdir`; returns the state."""
  cfg = config.progan
  # The first process renders missing data into the shared cache; the others then read it.
  hr_train, hr_test = multihost.primary_first(lambda: (
      datasets.hr_source(config.data, 'train'),
      datasets.take(datasets.hr_source(config.data, 'test'), cfg.eval_samples)
      if cfg.eval_samples else None), 'progan data')
  schedule = Schedule.from_config(cfg)
  loop.say(f'ProGAN schedule: steps per stage {schedule.steps} (fade-in '
           f'{schedule.fade_steps}; total {schedule.total}), images per stage '
           f'{[schedule.images(s) for s in range(len(schedule.steps))]}'
           + (f', last stage capped at {cfg.minutes:g} min' if cfg.minutes else ''))
  base_key = jax.random.key(config.seed)
  workdir, mngr, start, state, meta = checkpoints.open_workdir(
      config, workdir, parallel.initial(init_state(cfg, jax.random.fold_in(base_key, 0)),
                                        cfg.batch_sizes[0]), cfg.keep_ckpts, loop.say)
  if start:
    loop.say(f'resumed from global step {start} (stage {schedule.locate(start)[0]})')
  writer = loop.Writer(workdir)
  r = _Run(config, schedule, hr_train, hr_test, mngr, writer, dict(meta.get('fvd', {})),
           float(meta.get('last_stage_seconds', 0.0)), fixed_latents(cfg),
           jax.random.fold_in(base_key, 1))
  final_stage = len(schedule.steps) - 1
  try:
    for stage in range(len(schedule.steps)):
      if start >= schedule.start(stage) + schedule.steps[stage] or (
          stage == final_stage and cfg.minutes and r.spent >= 60.0 * cfg.minutes):
        continue
      state = _train_stage(r, stage, state, start)
  finally:
    writer.close()
  if multihost.is_primary():
    _export(r, state, workdir)
  return state
