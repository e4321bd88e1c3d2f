"""Training the LR-face encoder (nam_jax/stylegan/encoder.py) on the prior's own faces.

Every step makes its pairs afresh: z ~ N(0, I) -> mapped style w (untruncated: the region
SR-NAM searches) -> the 64 px head face -> a degradation drawn per batch slot from a family
(config encoder.kinds):

  bicubic          PIL bicubic downsampling
  mild/strong/cast nam_jax's camera simulator (nam_jax/data/camera_sim.py), fresh parameters
  defocus/bayer    the independent camera pipelines (nam_jax/data/other_cameras.py); the held-out
                   `phone` pipeline is never used here, it stays for judging
  h2l              the trained High-to-Low network with fresh noise

Losses (weights in the config): the style error (mean squared, per dimension, in units of the
mapped styles' spread), the face error through the head (L1, and VGG16 if weighed), and LR
consistency through the predicted camera: the camera applied to the true face and to the
predicted one must both give the input (the camera head learns what made the input; the face
learns what SR-NAM's search will be asked to fit). Identity is not a loss: the dlib descriptor
nam_jax measures identity with is not differentiable.

At the end, held-out pairs (a fixed key, each kind) give the per-kind errors, the grid
(input | encoder's face | true face) and the spread of the true style about the prediction that
`encoder.starts` draws around.

  python train.py --stage=encoder --config=configs/cpu.py --workdir=runs/encoder
"""

from __future__ import annotations

import functools
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import optax
from PIL import Image

from nam_jax import files, images, losses, priors
from nam_jax.data import camera_sim, other_cameras
from nam_jax.degradations import camera
from nam_jax.eval import vgg
from nam_jax.stylegan import encoder, head, model as msg
from nam_jax.training import lock, loop, run, states

State = states.OneNetwork
NUMPY_KINDS = ('bicubic', 'mild', 'strong', 'cast', 'defocus', 'bayer')
KINDS = NUMPY_KINDS + ('h2l',)


def spec_of(cfg) -> encoder.EncoderSpec:
  return encoder.EncoderSpec(tuple(cfg.widths), cfg.dense)


def check_kinds(kinds) -> None:
  bad = [k for k in kinds if k not in KINDS]
  if bad:
    raise ValueError(f'encoder.kinds: unknown {bad}; known: {", ".join(KINDS)} (the held-out '
                     f'{other_cameras.HELD_OUT!r} pipeline is never trained on)')


def lr_of(hr: np.ndarray, kind: str, seed: int) -> np.ndarray:
  """One uint8 face [64, 64, 3] made LR [16, 16, 3] by a numpy kind, drawn from `seed`."""
  if kind == 'bicubic':
    return np.asarray(Image.fromarray(hr).resize((16, 16), Image.BICUBIC))
  if kind in other_cameras.PIPELINES:
    return other_cameras.degrade(hr, kind, seed)
  return camera_sim.degrade_face(hr, seed, 16, kind)[0]


def slot_kinds(kinds, batch: int) -> list[str]:
  return [kinds[i % len(kinds)] for i in range(batch)]


class Pairs:
  """Makes (LR float [B, 16, 16, 3], w [B, 512], HR float [B, 64, 64, 3]) of a key: the prior's
  faces degraded slot by slot (slot i: kinds[i % len(kinds)])."""

  def __init__(self, prior_params, head_spec, kinds, batch: int, h2l=None):
    self.kinds = slot_kinds(kinds, batch)
    self.h2l_slots = np.array([i for i, k in enumerate(self.kinds) if k == 'h2l'], np.int32)
    if len(self.h2l_slots) and h2l is None:
      raise ValueError('encoder.kinds has h2l but no H2L network was given')
    self.batch = batch
    mapping, synthesis, head_params = (prior_params['mapping'], prior_params['synthesis'],
                                       prior_params['head'])

    @jax.jit
    def faces(key):
      kz, kn = jax.random.split(key)
      w = msg.Mapping().apply({'params': mapping},
                              jax.random.normal(kz, (batch, msg.STYLE_DIM)))
      hr = jnp.clip(head.render(head_spec, head_params, synthesis, w), -1.0, 1.0)
      lr_h2l = jnp.zeros((0, 16, 16, 3))
      if len(self.h2l_slots):
        deg, variables = h2l
        sel = hr[self.h2l_slots]
        lr_h2l = deg(variables, sel, jax.random.normal(kn, (len(sel), deg.noise_dim)))
      return w, hr, lr_h2l
    self._faces = faces

  def __call__(self, key: jax.Array, first_seed: int):
    w, hr, lr_h2l = self._faces(key)
    hr_u8 = images.to_uint8(np.asarray(hr))
    lr = np.zeros((self.batch, 16, 16, 3), np.float32)
    for i, kind in enumerate(self.kinds):
      if kind != 'h2l':
        lr[i] = images.to_float(lr_of(hr_u8[i], kind, first_seed + i))
    if len(self.h2l_slots):
      lr[self.h2l_slots] = np.asarray(lr_h2l)
    # The HR face as the LR pipelines saw it (quantised), so every loss compares like with like.
    return jnp.asarray(lr), w, jnp.asarray(images.to_float(hr_u8))


def losses_of(params, lr, w, hr, prior_params, head_spec, vgg_params, *, cfg):
  """(total, metrics) of the encoder on one batch."""
  spec = spec_of(cfg)
  w_hat, cam = encoder.predict(spec, params, prior_params['w_mean'], prior_params['w_radius'],
                               lr)
  scale = prior_params['w_radius'] ** 2 / msg.STYLE_DIM
  latent = jnp.mean(jnp.square(w_hat - w)) / scale
  face = head.render(head_spec, prior_params['head'], prior_params['synthesis'], w_hat)
  pixel = jnp.mean(jnp.abs(face - hr))
  perc = (losses.perceptual_loss(vgg_params, face, hr, cfg.perceptual_taps, 64)
          if cfg.perceptual_weight else jnp.zeros(()))
  through = jax.vmap(camera.apply_one)
  lr_true = jnp.mean(jnp.abs(through(cam, hr) - lr))
  lr_face = jnp.mean(jnp.abs(through(cam, face) - lr))
  total = (cfg.latent_weight * latent + cfg.pixel_weight * pixel
           + cfg.perceptual_weight * perc + cfg.lr_weight * (lr_true + lr_face))
  return total, {'loss': total, 'latent': latent, 'pixel': pixel, 'perceptual': perc,
                 'lr_true': lr_true, 'lr_face': lr_face}


def train_step(state: State, lr, w, hr, prior_params, vgg_params, *, cfg, head_spec):
  (_, m), grads = jax.value_and_grad(losses_of, has_aux=True)(
      state.params, lr, w, hr, prior_params, head_spec, vgg_params, cfg=cfg)
  updates, opt_state = optax.adam(cfg.learning_rate).update(grads, state.opt_state)
  params = optax.apply_updates(state.params, updates)
  return State(params, opt_state), {**m, 'grad_norm': optax.global_norm(grads),
                                    'param_norm': optax.global_norm(params)}


def evaluate(cfg, params, prior_params, head_spec, pairs: Pairs, key: jax.Array,
             batches: int) -> dict:
  """Per-kind errors on `batches` held-out batches, the spread of the true style about the
  prediction [512], and a grid (input | encoder's face | true face per column)."""
  spec = spec_of(cfg)

  @jax.jit
  def measure(lr, w, hr):
    w_hat, cam = encoder.predict(spec, params, prior_params['w_mean'],
                                 prior_params['w_radius'], lr)
    face = head.render(head_spec, prior_params['head'], prior_params['synthesis'], w_hat)
    scale = prior_params['w_radius'] ** 2 / msg.STYLE_DIM
    lr_face = jax.vmap(camera.apply_one)(cam, face)
    return (w - w_hat, jnp.mean(jnp.square(w_hat - w), -1) / scale,
            jnp.mean(jnp.abs(face - hr), (1, 2, 3)), jnp.mean(jnp.abs(lr_face - lr), (1, 2, 3)),
            face)

  residuals, per_kind, shown = [], {}, None
  for b in range(batches):
    lr, w, hr = pairs(jax.random.fold_in(key, b), first_seed=90_000_000 + b * pairs.batch)
    res, latent, pixel, lr_l1, face = jax.device_get(measure(lr, w, hr))
    residuals.append(res)
    for i, kind in enumerate(pairs.kinds):
      for name, v in (('latent', latent), ('pixel', pixel), ('lr_l1', lr_l1)):
        per_kind.setdefault(kind, {}).setdefault(name, []).append(float(v[i]))
    if shown is None:
      shown = [list(np.asarray(lr)), list(face), list(np.asarray(hr))]
  spread = np.std(np.concatenate(residuals), axis=0).astype(np.float32)
  table = {kind: {name: float(np.mean(v)) for name, v in m.items()}
           for kind, m in per_kind.items()}
  return {'per_kind': table, 'faces': batches * pairs.batch,
          'spread_rms': float(np.sqrt(np.mean(spread ** 2))), 'spread': spread,
          'grid': images.grid([r[:12] for r in shown])}


def _prior_and_h2l(config):
  """The StyleGAN prior's params and head spec, and the H2L network when a kind needs it."""
  nam = config.nam
  block = nam.priors.stylegan
  loaded = priors.load_prior(block.module, config.encoder.prior_ckpt or block.ckpt)
  h2l = None
  if 'h2l' in config.encoder.kinds:
    d = nam.degradations.h2l
    got = priors.load_degradation(d.module, config.encoder.h2l_ckpt or d.ckpt)
    h2l = (got.model, got.weights)
  return loaded.model.head_spec, loaded.weights, h2l


def warm_start(cfg, key: jax.Array) -> tuple[dict, int]:
  """(initial params, steps they were trained for): a fresh init, or with cfg.init_ckpt the
  params of an exported encoder of the same shape, whose model.json says how long it trained
  (the optimiser starts fresh)."""
  if not cfg.init_ckpt:
    return encoder.init(spec_of(cfg), key), 0
  spec, got, meta = encoder.load(cfg.init_ckpt)
  if spec != spec_of(cfg):
    raise ValueError(f'encoder.init_ckpt {cfg.init_ckpt}: widths {spec.widths} / dense '
                     f'{spec.dense}, the config asks for {tuple(cfg.widths)} / {cfg.dense}')
  return got['params'], int(meta.get('source', {}).get('steps', 0))


@lock.exclusive
def train(config, workdir: str | pathlib.Path) -> State:
  """Trains (or resumes) the encoder of `config` in `workdir`; exports it with its measured
  spread to workdir/export and the held-out errors to workdir/eval.json."""
  cfg = config.encoder
  check_kinds(cfg.kinds)
  head_spec, prior_params, h2l = _prior_and_h2l(config)
  pairs = Pairs(prior_params, head_spec, tuple(cfg.kinds), cfg.batch_size, h2l)
  base_key = jax.random.key(config.seed)
  init, done_before = warm_start(cfg, jax.random.fold_in(base_key, 0))

  def steps():
    vgg_params = vgg.load_params() if cfg.perceptual_weight else {}
    step = jax.jit(functools.partial(train_step, cfg=cfg, head_spec=head_spec),
                   donate_argnums=0)
    train_key = jax.random.fold_in(base_key, 1)

    def step_fn(state, k):
      k = k + done_before  # A warm start goes on with pairs its first run never saw.
      lr, w, hr = pairs(jax.random.fold_in(train_key, k), first_seed=k * cfg.batch_size)
      return step(state, lr, w, hr, prior_params, vgg_params)
    return step_fn

  def held_out(state, batches):
    return evaluate(cfg, state.params, prior_params, head_spec, pairs,
                    jax.random.fold_in(base_key, 2), batches)

  def finish(workdir, state, redo, writer):
    del writer
    if not redo and (workdir / 'export' / 'model.json').is_file():
      return
    result = held_out(state, cfg.test_batches)
    images.save_png(workdir / 'images' / 'encoder_heldout.png', result.pop('grid'))
    spread = result.pop('spread')
    source = {'config': config.name, 'steps': done_before + cfg.steps,
              'batch_size': cfg.batch_size, 'kinds': list(cfg.kinds), 'heldout': result}
    if cfg.init_ckpt:
      source['init_ckpt'] = {'path': str(cfg.init_ckpt), 'steps': done_before}
    encoder.export(spec_of(cfg), state.params, spread, workdir / 'export', source)
    files.write_json(workdir / 'eval.json', result)
    for kind, m in result['per_kind'].items():
      loop.say(f'held-out {kind}: style error {m["latent"]:.3f}, face L1 {m["pixel"]:.3f}, '
               f'LR L1 through the camera {m["lr_l1"]:.3f}')
    loop.say(f'spread of the true style about the prediction: {result["spread_rms"]:.3f} rms')

  return run.run(config, workdir, run.Run(
      'encoder', cfg, State(init, optax.adam(cfg.learning_rate).init(init)), steps, finish,
      lambda s, k: held_out(s, 1)['grid'], ('latent', 'pixel', 'lr_face')))
