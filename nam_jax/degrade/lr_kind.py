"""Which degradation made an LR face: a small classifier behind --degradation=auto.

A 16x16 input shrunk by software (bicubic and friends) is sharp, clean and has its true
colours; one from a camera carries blur, sensor noise, JPEG blocks and colour casts. This
network (three 3x3 convolutions and a dense layer, ~43k weights) reads those traces and gives
the probability that a camera made the input. It is trained on synthetic HR training faces
made LR both ways (plain PIL bicubic; the camera pipeline of nam_jax/camera/simulate.py at its
'mild' and 'strong' strengths, fresh parameters per face), never on the real-face test sets.

  python -m nam_jax.degrade.lr_kind --out=checkpoints/lr_kind_cpu     # about a minute
"""

from __future__ import annotations

import pathlib

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from nam_jax import images, weights

KIND = 'lr_kind'
WIDTHS = (32, 48, 64)


class LrKind(nn.Module):
  """LR faces [B, 16, 16, 3] in [-1, 1] -> logit that a camera made them [B]."""

  @nn.compact
  def __call__(self, x):
    # The input's own high frequencies carry the traces; keep them beside the image.
    blur = (x + jnp.roll(x, 1, 1) + jnp.roll(x, -1, 1) + jnp.roll(x, 1, 2) +
            jnp.roll(x, -1, 2)) / 5.0
    x = jnp.concatenate([x, x - blur], axis=-1)
    for i, w in enumerate(WIDTHS):
      x = nn.leaky_relu(nn.Conv(w, (3, 3))(x), 0.2)
      if i:
        x = nn.avg_pool(x, (2, 2), (2, 2))
    x = jnp.concatenate([jnp.mean(x, axis=(1, 2)), jnp.std(x, axis=(1, 2))], axis=-1)
    return nn.Dense(1)(x)[:, 0]


def examples(hr: np.ndarray, first_seed: int) -> tuple[np.ndarray, np.ndarray]:
  """(LR uint8 [3N, 16, 16, 3], label [3N]: 1 = camera-made) of HR faces [N, 64, 64, 3]."""
  from nam_jax.data import real_faces
  lr = [real_faces.make_lr(hr, kind, first_seed) for kind in real_faces.LR_KINDS]
  labels = [np.full(len(hr), kind != 'bicubic', np.float32) for kind in real_faces.LR_KINDS]
  return np.concatenate(lr), np.concatenate(labels)


def camera_probability(params, lr_images: np.ndarray) -> np.ndarray:
  """P(camera-made) [N] of LR faces (uint8 or float in [-1, 1])."""
  return np.asarray(jax.nn.sigmoid(_apply(params, jnp.asarray(images.as_float(lr_images)))))


@jax.jit
def _apply(params, x):
  return LrKind().apply({'params': params}, x)


def train(hr_train: np.ndarray, steps: int = 1500, batch: int = 128, seed: int = 0):
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


def load(ckpt_dir) -> dict:
  """Params of an exported classifier."""
  ckpt_dir = pathlib.Path(ckpt_dir)
  weights.read_meta(ckpt_dir, KIND)
  like = jax.eval_shape(lambda: LrKind().init(jax.random.key(0),
                                             jnp.zeros((1, 16, 16, 3)))['params'])
  return weights.restore(ckpt_dir, like)


def main(out_dir: str, faces: int = 4000) -> None:
  from configs import cpu
  from nam_jax.data import datasets
  config = cpu.get_config()
  hr = datasets.take(datasets.hr_source(config.data, 'train'), faces)
  params = train(hr)
  held_out = datasets.take(datasets.hr_source(config.data, 'test'), 500)
  lr, label = examples(held_out, first_seed=70_000_000)
  source = {'train_faces': len(hr), 'held_out_faces': len(held_out),
            'held_out_accuracy': {
                'bicubic': accuracy(params, lr[label == 0], False),
                'camera': accuracy(params, lr[label > 0], True)}}
  print(f'held-out synthetic accuracy: {source["held_out_accuracy"]}')
  print(f'wrote {export(params, out_dir, source)}')


if __name__ == '__main__':
  from absl import flags
  from nam_jax import cli
  _OUT = flags.DEFINE_string('out', 'checkpoints/lr_kind_cpu', 'Folder of the exported classifier.')
  _FACES = flags.DEFINE_integer('faces', 4000, 'Training faces (synthetic train split).')
  cli.run(lambda argv: main(_OUT.value, _FACES.value))
