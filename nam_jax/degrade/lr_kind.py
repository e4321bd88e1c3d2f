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

import functools
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import optax

from nam_jax import images, layers, weights
from nam_jax.training import lock, loop, run, states
from nam_jax.degradations.auto import KIND, WIDTHS, LrKind, camera_probability

def examples(hr: np.ndarray, first_seed: int) -> tuple[np.ndarray, np.ndarray]:
  """(LR uint8 [3N, 16, 16, 3], label [3N]: 1 = camera-made) of HR faces [N, 64, 64, 3]."""
  from nam_jax.data import real_faces
  lr = [real_faces.make_lr(hr, kind, first_seed) for kind in real_faces.LR_KINDS]
  labels = [np.full(len(hr), kind != 'bicubic', np.float32) for kind in real_faces.LR_KINDS]
  return np.concatenate(lr), np.concatenate(labels)


State = states.OneNetwork


def _optimizer(steps: int) -> optax.GradientTransformation:
  return optax.adam(optax.cosine_decay_schedule(2e-3, steps))


def init_state(steps: int, seed: int) -> State:
  params = layers.init_variables(LrKind(), jax.random.key(seed),
                                  jnp.zeros((1, 16, 16, 3)))['params']
  return State(params, _optimizer(steps).init(params))


def stepper(hr_train: np.ndarray, steps: int, batch: int, seed: int):
  """step_fn(state, k) -> (state, {'loss'}) of the classifier on HR faces made LR both ways
  (bicubic : camera = 1 : 1, mild and strong cameras half each); step k's batch and flips are
  a function of (seed, k), so a resumed run draws what an uninterrupted one would."""
  lr, label = examples(hr_train, first_seed=60_000_000)
  weight = jnp.asarray(np.where(label > 0, 0.5, 1.0), jnp.float32)
  labels = jnp.asarray(label)
  x_all = jnp.asarray(images.as_float(lr))
  tx = _optimizer(steps)

  @functools.partial(jax.jit, donate_argnums=0)
  def step(state, idx, flip):
    x = jnp.where(flip[:, None, None, None], x_all[idx][:, :, ::-1], x_all[idx])

    def loss_fn(p):
      logits = LrKind().apply({'params': p}, x)
      return jnp.sum(weight[idx] * optax.sigmoid_binary_cross_entropy(logits, labels[idx])
                     ) / jnp.sum(weight[idx])
    loss, g = jax.value_and_grad(loss_fn)(state.params)
    updates, opt_state = tx.update(g, state.opt_state, state.params)
    return State(optax.apply_updates(state.params, updates), opt_state), {'loss': loss}

  def step_fn(state, k):
    rng = np.random.default_rng([seed, k])
    return step(state, rng.integers(0, len(lr), batch), rng.random(batch) < 0.5)
  return step_fn


def fit(hr_train: np.ndarray, steps: int = 1500, batch: int = 128, seed: int = 0):
  """Params of a classifier trained for `steps` steps in memory (no workdir)."""
  state, step_fn = init_state(steps, seed), stepper(hr_train, steps, batch, seed)
  for k in range(steps):
    state, _ = step_fn(state, k)
  return state.params


def accuracy(params, lr_images: np.ndarray, camera_made: bool) -> float:
  p = camera_probability(params, lr_images)
  return float(np.mean((p >= 0.5) == camera_made))


def export(params, out_dir, source: dict) -> pathlib.Path:
  return weights.save(out_dir, {'kind': KIND, 'widths': list(WIDTHS), 'source': source},
                      params)


@lock.exclusive
def train(config, workdir) -> State:
  """The train.py stage (nam_jax/training/stages.py): fits the classifier on
  config.lr_kind.faces HR training faces made LR both ways (resumable, as every stage), checks
  it on held-out test faces and exports it to WORKDIR/export (about a minute on 2 cores).
  Returns the final state."""
  from nam_jax.data import datasets
  cfg = config.lr_kind
  hr = datasets.take(datasets.hr_source(config.data, 'train'), cfg.faces)

  def finish(workdir, state, redo, writer):
    del writer
    if not redo and (workdir / 'export' / 'model.json').is_file():
      return
    held_out = datasets.take(datasets.hr_source(config.data, 'test'), cfg.held_out)
    lr, label = examples(held_out, first_seed=70_000_000)
    source = {'train_faces': len(hr), 'held_out_faces': len(held_out), 'steps': cfg.steps,
              'held_out_accuracy': {
                  'bicubic': accuracy(state.params, lr[label == 0], False),
                  'camera': accuracy(state.params, lr[label > 0], True)}}
    loop.say(f'held-out synthetic accuracy: {source["held_out_accuracy"]}')
    loop.say(f'wrote {export(state.params, workdir / "export", source)}')

  return run.run(config, workdir, run.Run(
      'lr_kind', cfg, init_state(cfg.steps, config.seed),
      lambda: stepper(hr, cfg.steps, cfg.batch_size, config.seed), finish, show=('loss',)))
