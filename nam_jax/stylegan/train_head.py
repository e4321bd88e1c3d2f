"""Distilling the 64 px head: (w, face) pairs rendered by the full network, L1 + VGG16 loss.

Every synthetic face was rendered by the full MobileStyleGAN at 1024 px from its seed's z
(truncation psi, mean style from a fixed seed) and Lanczos-downsampled to 64 px. So the pairs
are free: w = truncate(mapping(z_seed)) through our Flax port, target = the stored face. Two
sources, both read from the face cache (rendered on first use): faces of the synthetic HR
split's seeds (psi = data.truncation, 0.7) and untruncated faces (psi 1, the head_train /
head_test seed ranges), because SR-NAM searches the whole region of mapped styles, not only
its truncated core. With `points` (a directory of nam_jax/stylegan/search_points.py) a share
of every batch is the search's own end points on synthetic LR faces, W+ latents with the full
network's faces of them: where the search goes, which mapped styles do not cover. The
synthesis below the head is frozen; only the head (and its copy of layer 2) learns. Held-out
faces of both kinds (and the end points of the last faces searched) give the head's PSNR and
LPIPS against the full network.

  python train.py --stage=stylegan_head --config=configs/cpu.py --workdir=runs/cpu_head
"""

from __future__ import annotations

import functools
import pathlib

import grain
import jax
import jax.numpy as jnp
import numpy as np
import optax

from nam_jax import files, images, losses, multihost, weights
from nam_jax.data import rendered_faces, pipeline, splits
from nam_jax.eval import lpips, metrics, vgg
from nam_jax.stylegan import convert, head, model as msg, search_points
from nam_jax.training import lock, loop, parallel, run, states


State = states.OneNetwork


def style_mean(mapping_params, samples: int = 1024, seed: int = 20210721) -> jax.Array:
  """The mean style the synthetic data was truncated toward (as nam_jax/data/rendered_faces.py
  computes it: `samples` z from RandomState(seed), mapped, averaged)."""
  rng = np.random.RandomState(seed)
  z = np.concatenate([rng.randn(1, rendered_faces.LATENT_DIM).astype(np.float32)
                      for _ in range(samples)])
  return jnp.mean(msg.Mapping().apply({'params': mapping_params}, jnp.asarray(z)), axis=0)


def truncated_styles(mapping_params, mean, z: jax.Array, psi: float) -> jax.Array:
  w = msg.Mapping().apply({'params': mapping_params}, z)
  return mean + psi * (w - mean)


SCHEDULES = ('constant', 'cosine')


def rate(cfg, peak: float) -> optax.Schedule | float:
  """A learning rate: `peak` throughout, or decayed to a tenth of it over the run (cosine)."""
  if cfg.schedule not in SCHEDULES:
    raise ValueError(f'stylegan_head.schedule {cfg.schedule!r}: expected one of {SCHEDULES}')
  return (optax.cosine_decay_schedule(peak, cfg.steps, alpha=0.1)
          if cfg.schedule == 'cosine' else peak)


def optimizer(cfg) -> optax.GradientTransformation:
  """Adam; a fine-tuned copy of the network's layer learns at its own (smaller) rate."""
  block = set(msg.layer_names(head.BLOCK))
  return optax.multi_transform(
      {'head': optax.adam(rate(cfg, cfg.learning_rate)),
       'block': optax.adam(rate(cfg, cfg.block_learning_rate))},
      lambda params: {k: 'block' if k in block else 'head' for k in params})


def initial_params(cfg, key: jax.Array, synthesis_params) -> dict:
  """A fresh head, or (init_ckpt) an exported head to train on from, whose shape must be the
  config's."""
  spec = spec_of(cfg)
  if not cfg.init_ckpt:
    return head.init(spec, key, synthesis_params)
  found, params, _ = head.load(cfg.init_ckpt)
  if found != spec:
    raise ValueError(f'stylegan_head.init_ckpt {cfg.init_ckpt} holds a head {found}, '
                     f'not the configured {spec}')
  return params


def spec_of(cfg) -> head.HeadSpec:
  return head.HeadSpec(cfg.width, cfg.block, cfg.modulated)


def train_step(state: State, w: jax.Array, target: jax.Array, synthesis_params, vgg_params,
               *, cfg) -> tuple[State, dict]:
  spec = spec_of(cfg)
  feats = jax.lax.stop_gradient(head.features(synthesis_params, w, spec.feature_level))

  def loss_fn(params):
    out = head.Head64(spec).apply({'params': params}, feats, w)
    l1 = jnp.mean(jnp.abs(out - target))
    perc = (losses.perceptual_loss(vgg_params, out, target, cfg.perceptual_taps, 64)
            if cfg.perceptual_weight else jnp.zeros(()))
    return l1 + cfg.perceptual_weight * perc, {'l1': l1, 'perceptual': perc}

  (loss, m), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
  updates, opt_state = optimizer(cfg).update(grads, state.opt_state, state.params)
  params = optax.apply_updates(state.params, updates)
  return State(params, opt_state), {'loss': loss, **m, 'grad_norm': optax.global_norm(grads),
                                    'param_norm': optax.global_norm(params)}


def pairs(config, split: str) -> dict[str, np.ndarray]:
  """{'image': uint8 [N, 64, 64, 3], 'seed': [N], 'psi': [N]} of a split ('train' | 'test'):
  faces of the synthetic HR split's seeds at the data's truncation, then untruncated faces.
  Read from the face cache (rendered on first use), so the TFDS datasets are not needed."""
  cfg = config.stylegan_head
  kinds = ((f'hr_{split}', cfg[f'truncated_{split}'], config.data.truncation),
           (f'head_{split}', cfg[f'untruncated_{split}'], 1.0))
  out = {'image': [], 'seed': [], 'psi': []}
  for seed_split, num, psi in kinds:
    if not num:
      continue
    seeds = splits.seed_range(seed_split, num)
    out['image'].append(rendered_faces.load_faces(rendered_faces.ensure_faces(
        seeds.start, num, truncation=psi, desc=f'{seed_split} faces (psi {psi})')))
    out['seed'].append(np.asarray(seeds, np.int64))
    out['psi'].append(np.full(num, psi, np.float32))
  return {k: np.concatenate(v) for k, v in out.items()}


def batches(data: dict[str, np.ndarray], batch_size: int, seed: int,
            shard: tuple[int, int] = (0, 1)) -> grain.MapDataset:
  """Endless shuffled batches of `pairs` (no flips: a flipped face is not the face of its w),
  or one process's share of each (pipeline.shard_batches)."""
  count = len(next(iter(data.values())))
  records = [{k: v[i] for k, v in data.items()} for i in range(count)]
  return pipeline.shard_batches(grain.MapDataset.source(records).shuffle(seed=seed).repeat(),
                                batch_size, shard)


render = jax.jit(head.render, static_argnums=0)


def scores(out: np.ndarray, truth: np.ndarray) -> dict:
  """Mean PSNR (dB) and LPIPS of head faces against the full network's, and their count."""
  return {'psnr': float(np.mean([metrics.psnr(o, t) for o, t in zip(out, truth)])),
          'lpips': float(np.mean(lpips.lpips(out, truth))), 'faces': int(len(out))}


def render_all(cfg, params, synthesis, w: np.ndarray) -> np.ndarray:
  """Head faces of styles w ([N, 512] or [N, 23, 512]), 32 at a time."""
  return np.concatenate([np.asarray(render(spec_of(cfg), params, synthesis,
                                           jnp.asarray(w[i:i + 32])))
                         for i in range(0, len(w), 32)])


def evaluate(cfg, params, net, mean, data: dict[str, np.ndarray], limit: int = 0,
             points: dict[str, np.ndarray] | None = None) -> dict:
  """PSNR / LPIPS of the head against the full network's faces, per truncation psi
  ({'psi0.70': {...}, 'psi1.00': {...}}) and on held-out search end points ('points', when
  given), on at most `limit` faces of each (0: all), and a grid (head row over full-network
  row) of the first faces of each."""
  styles = jax.jit(lambda z, psi: truncated_styles(net['mapping'], mean, z, psi))
  result, rows = {}, []
  for psi in sorted(set(data['psi'].tolist())):
    idx = np.flatnonzero(data['psi'] == psi)[:limit or None]
    w = np.concatenate([np.asarray(styles(
        jnp.asarray(rendered_faces.seed_latents(data['seed'][idx[i:i + 32]])),
        jnp.asarray(data['psi'][idx[i:i + 32]])[:, None])) for i in range(0, len(idx), 32)])
    out, truth = render_all(cfg, params, net['synthesis'], w), data['image'][idx]
    result[f'psi{psi:.2f}'] = scores(out, truth)
    rows += [list(out[:8]), list(truth[:8])]
  if points is not None and len(points['w']):
    n = len(points['w'])  # With a limit: end points spread over the held-out faces.
    idx = np.unique(np.linspace(0, n - 1, min(limit, n)).astype(int)) if limit else np.arange(n)
    out, truth = render_all(cfg, params, net['synthesis'], points['w'][idx]), points['image'][idx]
    result['points'] = scores(out, truth)
    rows += [list(out[:8]), list(truth[:8])]
  return {**result, 'grid': images.grid(rows)}


def points_of(cfg) -> tuple[dict, dict] | None:
  """(train, held-out) search end points of `cfg.points` (the last `points_test_faces` faces
  held out), or None without; a wrong directory or share is one line."""
  if not cfg.points:
    return None
  if not 0.0 < cfg.points_share < 1.0:
    raise ValueError(f'stylegan_head.points_share must be in (0, 1), got {cfg.points_share}')
  train, test = search_points.split_by_face(search_points.load(cfg.points),
                                            cfg.points_test_faces)
  if not len(train['w']):
    raise ValueError(f'stylegan_head.points {cfg.points}: no end points left to train on '
                     f'after holding out {cfg.points_test_faces} faces')
  return train, test


def batch_shares(cfg) -> tuple[int, int]:
  """(mapped-style pairs, search end points) in each batch of cfg.batch_size."""
  if not cfg.points:
    return cfg.batch_size, 0
  n = max(1, min(cfg.batch_size - 1, round(cfg.batch_size * cfg.points_share)))
  return cfg.batch_size - n, n


@lock.exclusive
def train(config, workdir: str | pathlib.Path) -> State:
  cfg = config.stylegan_head
  # A wrong schedule, starting head or end points is one line, before any face is rendered.
  rate(cfg, cfg.learning_rate)
  if cfg.init_ckpt:
    initial_params(cfg, jax.random.key(config.seed), None)
  points = points_of(cfg)
  # The first process converts and renders what is missing from the shared caches.
  net, train_pairs, test_pairs = multihost.primary_first(lambda: (
      msg.load_params(convert.ensure_converted()), pairs(config, 'train'),
      pairs(config, 'test')), 'head data')
  mean = style_mean(net['mapping'])
  mesh = parallel.mesh(cfg.batch_size, first_device_only=True)
  spec = spec_of(cfg)
  init = initial_params(cfg, jax.random.key(config.seed), net['synthesis'])
  test_points = points[1] if points else None
  mapped, searched = batch_shares(cfg)

  def steps():
    ds = batches(train_pairs, mapped, config.seed, parallel.shard_of_process(mapped))
    ends = (batches({k: points[0][k] for k in ('w', 'image')}, searched, config.seed + 1,
                    parallel.shard_of_process(searched)) if searched else None)
    vgg_params = parallel.replicate(vgg.load_params() if cfg.perceptual_weight else {}, mesh)
    synthesis = parallel.replicate(net['synthesis'], mesh)
    step = parallel.jit_step(functools.partial(train_step, cfg=cfg), mesh, (0, 0, None, None))
    mapping = jax.jit(lambda z, psi: truncated_styles(net['mapping'], mean, z, psi))

    def step_fn(state, k):
      batch = ds[k]
      w = np.asarray(mapping(jnp.asarray(rendered_faces.seed_latents(batch['seed'])),
                             jnp.asarray(batch['psi'])[:, None]))
      image = batch['image']
      if ends is not None:  # Mapped styles as W+ beside the end points' W+ latents.
        end = ends[k]
        w = np.concatenate([search_points.as_w_plus(w), end['w']])
        image = np.concatenate([image, end['image']])
      w = parallel.global_batch(w, mesh, 0)  # This process's share, as the job's array.
      return step(state, w, parallel.global_batch(pipeline.to_float(image), mesh, 0),
                  synthesis, vgg_params)
    return step_fn

  def finish(workdir, state, redo, writer):
    del writer
    if not redo and all((workdir / f).is_file() for f in ('export/model.json', 'eval.json')):
      return
    result = evaluate(cfg, state.params, net, mean, test_pairs, points=test_points)
    images.save_png(workdir / 'images' / 'head_vs_full.png', result.pop('grid'))
    source = {'config': config.name, 'steps': cfg.steps, 'heldout': result}
    if cfg.points:  # The end points it also trained on: from where, how many, their batch share.
      source['points'] = {'dir': str(cfg.points), 'train': int(len(points[0]['w'])),
                          'share': searched / cfg.batch_size}
    if cfg.init_ckpt:  # What the run started from, and how long that had trained.
      source['init'] = {'ckpt': str(cfg.init_ckpt),
                        'source': weights.read_meta(cfg.init_ckpt, head.KIND).get('source', {})}
    head.export(spec, state.params, workdir / 'export', source)
    files.write_json(workdir / 'eval.json', result)
    for name, r in result.items():
      loop.say(f'head vs full network, {r["faces"]} held-out faces at {name}: '
               f'PSNR {r["psnr"]:.2f} dB, LPIPS {r["lpips"]:.3f}')

  def grid(state, k):
    return evaluate(cfg, state.params, net, mean, test_pairs, 8, test_points)['grid']

  initial = parallel.initial(State(init, optimizer(cfg).init(init)), cfg.batch_size)
  return run.run(config, workdir, run.Run('stylegan_head', cfg, initial, steps, finish,
                                          grid, ('l1', 'perceptual')))
