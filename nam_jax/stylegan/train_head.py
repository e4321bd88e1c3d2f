"""Distilling the 64 px head: (w, face) pairs from the synthetic HR data, L1 + VGG16 loss.

Every synthetic HR face was rendered by the full MobileStyleGAN at 1024 px from its seed's z
(truncation psi, mean style from a fixed seed) and Lanczos-downsampled to 64 px. So the pairs
are free: w = truncate(mapping(z_seed)) through our Flax port, target = the stored face. The
synthesis up to 32 px is frozen; only the head learns. Held-out faces (the HR test split) give
the head's PSNR and LPIPS against the full network.

  python train.py --stage=stylegan_head --config=configs/cpu.py --workdir=runs/cpu_head
"""

from __future__ import annotations

import functools
import json
import pathlib
from typing import Any

import flax
import grain
import jax
import jax.numpy as jnp
import numpy as np
import optax

from nam_jax import images
from nam_jax.data import datasets, face_synth, pipeline
from nam_jax.degrade import train as degrade_train
from nam_jax.eval import lpips, metrics, vgg
from nam_jax.stylegan import head, model as msg
from nam_jax.training import checkpoints, loop


@flax.struct.dataclass
class State:
  params: Any
  opt_state: Any


def style_mean(mapping_params, samples: int = 1024, seed: int = 20210721) -> jax.Array:
  """The mean style the synthetic data was truncated toward (as nam_jax/data/face_synth.py
  computes it: `samples` z from RandomState(seed), mapped, averaged)."""
  rng = np.random.RandomState(seed)
  z = np.concatenate([rng.randn(1, face_synth.LATENT_DIM).astype(np.float32)
                      for _ in range(samples)])
  return jnp.mean(msg.Mapping().apply({'params': mapping_params}, jnp.asarray(z)), axis=0)


def truncated_styles(mapping_params, mean, z: jax.Array, psi: float) -> jax.Array:
  w = msg.Mapping().apply({'params': mapping_params}, z)
  return mean + psi * (w - mean)


def train_step(state: State, w: jax.Array, target: jax.Array, synthesis_params, vgg_params,
               *, cfg) -> tuple[State, dict]:
  tx = optax.adam(cfg.learning_rate)
  feats = jax.lax.stop_gradient(head.features32(synthesis_params, w))

  def loss_fn(params):
    out = head.Head64(cfg.width).apply({'params': params}, feats)
    l1 = jnp.mean(jnp.abs(out - target))
    perc = (degrade_train.perceptual_loss(vgg_params, out, target, cfg.perceptual_taps, 64)
            if cfg.perceptual_weight else jnp.zeros(()))
    return l1 + cfg.perceptual_weight * perc, {'l1': l1, 'perceptual': perc}

  (loss, m), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
  updates, opt_state = tx.update(grads, state.opt_state, state.params)
  params = optax.apply_updates(state.params, updates)
  return State(params, opt_state), {'loss': loss, **m, 'grad_norm': optax.global_norm(grads),
                                    'param_norm': optax.global_norm(params)}


def batches(records, batch_size: int, seed: int) -> grain.MapDataset:
  """Endless shuffled batches {'image': uint8 [B,64,64,3], 'seed': [B]} (no flips: a
  flipped face is not the face of its w)."""
  return (grain.MapDataset.source(records).shuffle(seed=seed).repeat()
          .batch(batch_size, drop_remainder=True))


@functools.partial(jax.jit, static_argnames='width')
def render(head_params, synthesis_params, w, width: int):
  return head.Head64(width).apply({'params': head_params},
                                  head.features32(synthesis_params, w))


def evaluate(cfg, params, net, mean, records, n: int, psi: float) -> dict:
  """PSNR / LPIPS of the head against the full network's faces on held-out seeds."""
  n = min(n, len(records))
  outs, truth = [], []
  for i in range(0, n, 32):
    rows = [records[j] for j in range(i, min(n, i + 32))]
    z = jnp.asarray(face_synth.seed_latents([r['seed'] for r in rows]))
    w = truncated_styles(net['mapping'], mean, z, psi)
    outs.append(np.asarray(render(params, net['synthesis'], w, cfg.width)))
    truth.append(np.stack([r['image'] for r in rows]))
  out, truth = np.concatenate(outs), np.concatenate(truth)
  return {'psnr': float(np.mean([metrics.psnr(o, t) for o, t in zip(out, truth)])),
          'lpips': float(np.mean(lpips.lpips(out, truth))), 'faces': int(n),
          'grid': images.grid([list(out[:8]), list(truth[:8])])}


def train(config, workdir: str | pathlib.Path) -> State:
  cfg = config.stylegan_head
  psi = config.data.truncation
  net = msg.load_params()
  mean = style_mean(net['mapping'])
  train_records = datasets.hr_records(config.data, 'train')
  test_records = datasets.hr_records(config.data, 'test')
  ds = batches(train_records, cfg.batch_size, config.seed)
  tx = optax.adam(cfg.learning_rate)
  init = head.Head64(cfg.width).init(jax.random.key(config.seed),
                                     jnp.zeros((1, 32, 32, msg.WIDTHS[3])))['params']
  workdir, mngr, start, state, _ = checkpoints.open_workdir(
      config, workdir, State(init, tx.init(init)), cfg.keep_ckpts)
  spec = head.HeadSpec(cfg.width)

  def finish(state):
    result = evaluate(cfg, state.params, net, mean, test_records, cfg.eval_faces, psi)
    images.save_png(workdir / 'images' / 'head_vs_full.png', result.pop('grid'))
    head.export(spec, state.params, workdir / 'export',
                {'config': config.name, 'steps': cfg.steps, 'heldout': result})
    (workdir / 'eval.json').write_text(json.dumps(result, indent=2))
    loop.say(f'head vs full network on {result["faces"]} held-out faces: '
             f'PSNR {result["psnr"]:.2f} dB, LPIPS {result["lpips"]:.3f}')

  if start >= cfg.steps:
    loop.say(f'already trained for {start} steps')
    if not (workdir / 'export').is_dir():
      finish(state)
    return state
  vgg_params = vgg.load_params() if cfg.perceptual_weight else {}
  step = jax.jit(functools.partial(train_step, cfg=cfg), donate_argnums=0)
  mapping = jax.jit(lambda z: truncated_styles(net['mapping'], mean, z, psi))

  def step_fn(state, k):
    batch = ds[k]
    w = mapping(jnp.asarray(face_synth.seed_latents(batch['seed'])))
    return step(state, w, pipeline.to_float(batch['image']), net['synthesis'], vgg_params)

  def grid(state, k):
    return evaluate(cfg, state.params, net, mean, test_records, 8, psi)['grid']

  writer = loop.Writer(workdir)
  try:
    plan = loop.Plan(start, cfg.steps, cfg.log_every, cfg.ckpt_every, cfg.image_every,
                     desc='stylegan head', show=('l1', 'perceptual'))
    hooks = loop.Hooks(lambda k, s: checkpoints.save(mngr, k, s, {'step': k}), grid, 'head')
    state = loop.train_loop(state, step_fn, plan, hooks, writer)
    finish(state)
  finally:
    writer.close()
  return state
