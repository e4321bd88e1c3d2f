"""Distilling the coarse head (nam_jax/stylegan/coarse.py) from the 64 px head it stands in for.

No stored faces: every step draws styles afresh and the 64 px head renders the targets. The
styles cover what the search visits: mapped z ~ N(0, I) truncated by psi ~ U(psi_min, 1), and
for a `w_plus_share` of the batch W+ latents (two mapped styles mixed at a random row, each
row moved by Gaussian noise of up to `row_noise` x the styles' spread per dimension). The
loss is L1 at 32 px against the head's face reduced there, plus `lr_weight` x L1 at 16 px
(the input's size: what the search's loss sees). The synthesis and the 64 px head are
frozen; the two share the 16 px features.

Held out (a fixed key): PSNR at 32 px and the LR L1 at 16 px (bicubic reduction of both
64 px faces) of W and W+ styles, and a grid (coarse face enlarged | the head's face).

  python train.py --stage=stylegan_coarse --config=configs/cpu.py --workdir=runs/coarse
"""

from __future__ import annotations

import functools
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import optax

from nam_jax import files, images, layers, priors
from nam_jax.degradations import operators
from nam_jax.eval import metrics
from nam_jax.stylegan import coarse, head, model as msg
from nam_jax.training import lock, loop, run, states

State = states.OneNetwork


def spec_of(cfg) -> coarse.CoarseSpec:
  return coarse.CoarseSpec(cfg.width)


def draw_styles(key: jax.Array, prior_params, batch: int, cfg, w_plus: bool | None = None
                ) -> jax.Array:
  """W+ latents [batch, 23, 512] as the module docstring says (w_plus True / False: all of
  one kind; None: the config's share of W+)."""
  kz, kpsi, kmix, kcut, knoise, kscale, kkind = jax.random.split(key, 7)
  z = jax.random.normal(kz, (2, batch, msg.STYLE_DIM))
  mapped = msg.Mapping().apply({'params': prior_params['mapping']}, z.reshape(-1, msg.STYLE_DIM))
  mean = prior_params['w_mean']
  psi = jax.random.uniform(kpsi, (2 * batch, 1), minval=cfg.psi_min, maxval=1.0)
  w = (mean + psi * (mapped - mean)).reshape(2, batch, msg.STYLE_DIM)
  rows = jnp.arange(msg.NUM_STYLES)
  cut = jax.random.randint(kcut, (batch, 1), 1, msg.NUM_STYLES)
  mixed = jnp.where((rows[None] < cut)[..., None], w[0][:, None], w[1][:, None])
  unit = prior_params['w_radius'] / np.sqrt(msg.STYLE_DIM)  # The styles' spread per dimension.
  scale = jax.random.uniform(kscale, (batch, 1, 1), maxval=cfg.row_noise) * unit
  mixed = mixed + scale * jax.random.normal(knoise, mixed.shape)
  plain = jnp.broadcast_to(w[0][:, None], mixed.shape)
  if w_plus is None:
    pick = jax.random.uniform(kkind, (batch, 1, 1)) < cfg.w_plus_share
  else:
    pick = jnp.full((batch, 1, 1), w_plus)
  return jnp.where(pick, mixed, plain)


def faces(params, prior_params, head_spec, spec, w):
  """(coarse 32 px face, the 64 px head's face) of styles w, from one pass to 16 px."""
  feats = head.features(prior_params['synthesis'], w, coarse.LEVEL)
  teacher = head.Head64(head_spec).apply({'params': prior_params['head']}, feats, w)
  return (head.Head64(spec.head_spec).apply({'params': params}, feats, coarse.styles_read(w)),
          teacher)


def losses_of(params, w, prior_params, head_spec, *, cfg):
  face32, teacher = faces(params, prior_params, head_spec, spec_of(cfg), w)
  teacher = jax.lax.stop_gradient(teacher)
  l32 = jnp.mean(jnp.abs(face32 - layers.shrink(teacher, coarse.SIZE)))
  l16 = jnp.mean(jnp.abs(layers.shrink(face32, 16) - layers.shrink(teacher, 16)))
  total = l32 + cfg.lr_weight * l16
  return total, {'loss': total, 'l32': l32, 'l16': l16}


def optimizer(cfg) -> optax.GradientTransformation:
  """Adam, its rate decayed to a tenth over the run (cosine)."""
  return optax.adam(optax.cosine_decay_schedule(cfg.learning_rate, cfg.steps, alpha=0.1))


def train_step(state: State, key, prior_params, *, cfg, head_spec):
  w = draw_styles(key, prior_params, cfg.batch_size, cfg)
  (_, m), grads = jax.value_and_grad(losses_of, has_aux=True)(
      state.params, w, prior_params, head_spec, cfg=cfg)
  updates, opt_state = optimizer(cfg).update(grads, state.opt_state)
  params = optax.apply_updates(state.params, updates)
  return State(params, opt_state), {**m, 'grad_norm': optax.global_norm(grads),
                                    'param_norm': optax.global_norm(params)}


def evaluate(cfg, params, prior_params, head_spec, key: jax.Array, count: int) -> dict:
  """Held-out figures per style kind ({'w': ..., 'w_plus': ...}) and a grid."""
  spec = spec_of(cfg)

  @functools.partial(jax.jit, static_argnums=1)
  def measure(k, w_plus):
    w = draw_styles(k, prior_params, count, cfg, w_plus)
    face32, teacher = faces(params, prior_params, head_spec, spec, w)
    big = coarse.enlarge(face32)
    lr = lambda x: operators.resize(x, 16, 'bicubic')
    return (face32, layers.shrink(teacher, coarse.SIZE), big, teacher,
            jnp.mean(jnp.abs(lr(big) - lr(teacher)), axis=(1, 2, 3)))

  out, rows = {}, []
  for i, kind in enumerate(('w', 'w_plus')):
    face32, target32, big, teacher, lr_l1 = jax.device_get(
        measure(jax.random.fold_in(key, i), kind == 'w_plus'))
    out[kind] = {'psnr32': float(np.mean([metrics.psnr(a, b) for a, b in zip(
                     np.clip(face32, -1, 1), np.clip(target32, -1, 1))])),
                 'lr_l1': float(np.mean(lr_l1)), 'faces': count}
    rows += [list(np.clip(big[:8], -1, 1)), list(np.clip(teacher[:8], -1, 1))]
  return {**out, 'grid': images.grid(rows)}


def _prior(config):
  block = config.nam.priors.stylegan
  loaded = priors.load_prior(block.module, config.stylegan_coarse.head_ckpt or block.ckpt)
  return loaded.model.head_spec, loaded.weights


@lock.exclusive
def train(config, workdir: str | pathlib.Path) -> State:
  """Trains (or resumes) the coarse head in `workdir`; exports it to workdir/export (copy it
  into the 64 px head's checkpoint as `coarse/` to ship it) and the held-out figures to
  workdir/eval.json."""
  cfg = config.stylegan_coarse
  head_spec, prior_params = _prior(config)
  base_key = jax.random.key(config.seed)
  init = coarse.init(spec_of(cfg), jax.random.fold_in(base_key, 0))

  def steps():
    step = jax.jit(functools.partial(train_step, cfg=cfg, head_spec=head_spec),
                   donate_argnums=0)
    train_key = jax.random.fold_in(base_key, 1)
    return lambda state, k: step(state, jax.random.fold_in(train_key, k), prior_params)

  def held_out(state, count):
    return evaluate(cfg, state.params, prior_params, head_spec, jax.random.fold_in(base_key, 2),
                    count)

  def finish(workdir, state, redo, writer):
    del writer
    if not redo and (workdir / 'export' / 'model.json').is_file():
      return
    result = held_out(state, cfg.held_out)
    images.save_png(workdir / 'images' / 'coarse_vs_head.png', result.pop('grid'))
    coarse.export(spec_of(cfg), state.params, workdir / 'export',
                  {'config': config.name, 'steps': cfg.steps, 'batch_size': cfg.batch_size,
                   'head_ckpt': str(cfg.head_ckpt or config.nam.priors.stylegan.ckpt),
                   'heldout': result})
    files.write_json(workdir / 'eval.json', result)
    for kind, m in result.items():
      loop.say(f'coarse vs 64 px head, {m["faces"]} held-out {kind} styles: PSNR at 32 px '
               f'{m["psnr32"]:.2f} dB, LR L1 at 16 px {m["lr_l1"]:.4f}')

  return run.run(config, workdir, run.Run(
      'stylegan_coarse', cfg, State(init, optimizer(cfg).init(init)), steps,
      finish, lambda s, k: held_out(s, 8)['grid'], ('l32', 'l16')))
