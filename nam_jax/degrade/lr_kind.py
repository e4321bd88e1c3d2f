"""Which degradation made an LR face: a small classifier behind --degradation=auto.

A 16x16 input shrunk by software (bicubic and friends) is sharp, clean and has its true
colours; one from a camera carries blur, sensor noise, JPEG blocks and colour casts. This
network (three 3x3 convolutions and a dense layer, ~43k weights) reads those traces and gives
the probability that a camera made the input. It is trained on synthetic HR training faces
made LR both ways (plain PIL bicubic; the camera pipeline of nam_jax/data/camera_sim.py at its
'mild' and 'strong' strengths, fresh parameters per face), never on the real-face test sets.

  python train.py --stage=lr_kind --workdir=runs/lr_kind   # about a minute; -> runs/lr_kind/export

This module trains and exports it; the network and its inference are
nam_jax/degradations/classifier.py.
"""

from __future__ import annotations

import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import optax

from nam_jax import images, weights
from nam_jax.degradations.auto import KIND, WIDTHS, LrKind, camera_probability

def examples(hr: np.ndarray, first_seed: int) -> tuple[np.ndarray, np.ndarray]:
  """(LR uint8 [3N, 16, 16, 3], label [3N]: 1 = camera-made) of HR faces [N, 64, 64, 3]."""
  from nam_jax.data import real_faces
  lr = [real_faces.make_lr(hr, kind, first_seed) for kind in real_faces.LR_KINDS]
  labels = [np.full(len(hr), kind != 'bicubic', np.float32) for kind in real_faces.LR_KINDS]
  return np.concatenate(lr), np.concatenate(labels)


def fit(hr_train: np.ndarray, steps: int = 1500, batch: int = 128, seed: int = 0):
  """Params of a classifier trained on HR faces made LR both ways (bicubic : camera = 1 : 1,
  mild and strong cameras half each)."""
  lr, label = examples(hr_train, first_seed=60_000_000)
  weight = jnp.asarray(np.where(label > 0, 0.5, 1.0), jnp.float32)
  labels = jnp.asarray(label)
  x_all = jnp.asarray(images.as_float(lr))
  key = jax.random.key(seed)
  params = LrKind().init(key, x_all[:1])['params']
  tx = optax.adam(optax.cosine_decay_schedule(2e-3, steps))
  state = tx.init(params)

  @jax.jit
  def step(params, state, idx, flip):
    x = jnp.where(flip[:, None, None, None], x_all[idx][:, :, ::-1], x_all[idx])

    def loss_fn(p):
      logits = LrKind().apply({'params': p}, x)
      return jnp.sum(weight[idx] * optax.sigmoid_binary_cross_entropy(logits, labels[idx])
                     ) / jnp.sum(weight[idx])
    loss, g = jax.value_and_grad(loss_fn)(params)
    updates, state = tx.update(g, state, params)
    return optax.apply_updates(params, updates), state, loss

  rng = np.random.default_rng(seed)
  for i in range(steps):
    idx = rng.integers(0, len(lr), batch)
    params, state, loss = step(params, state, idx, rng.random(batch) < 0.5)
    if i % 250 == 0 or i == steps - 1:
      print(f'step {i}: loss {float(loss):.4f}')
  return params


def accuracy(params, lr_images: np.ndarray, camera_made: bool) -> float:
  p = camera_probability(params, lr_images)
  return float(np.mean((p >= 0.5) == camera_made))


def export(params, out_dir, source: dict) -> pathlib.Path:
  return weights.save(out_dir, {'kind': KIND, 'widths': list(WIDTHS), 'source': source},
                      params)


def train(config, workdir) -> dict:
  """The train.py stage (nam_jax/training/stages.py): fits the classifier on
  config.lr_kind.faces HR training faces made LR both ways, checks it on held-out test faces
  and exports it to WORKDIR/export (about a minute on 2 cores; a rerun fits again). Returns
  the params."""
  import pathlib
  from nam_jax.data import datasets
  cfg = config.lr_kind
  hr = datasets.take(datasets.hr_source(config.data, 'train'), cfg.faces)
  params = fit(hr, cfg.steps, cfg.batch_size, config.seed)
  held_out = datasets.take(datasets.hr_source(config.data, 'test'), cfg.held_out)
  lr, label = examples(held_out, first_seed=70_000_000)
  source = {'train_faces': len(hr), 'held_out_faces': len(held_out),
            'held_out_accuracy': {
                'bicubic': accuracy(params, lr[label == 0], False),
                'camera': accuracy(params, lr[label > 0], True)}}
  print(f'held-out synthetic accuracy: {source["held_out_accuracy"]}')
  print(f'wrote {export(params, pathlib.Path(workdir) / "export", source)}')
  return params
