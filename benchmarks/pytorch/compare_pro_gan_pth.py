"""nam_jax's ProGAN against pro-gan-pth (the PyTorch ProGAN SR-NAM trained) on equal terms.

Both train three stages (4 -> 8 -> 16 px) on the same synthetic HR faces, fed in the same
order (one deterministic batch stream, average-pooled to 16 px for pro-gan-pth as its data
loader would resize), with the same widths, latent size, batch sizes, fade-in and images
shown, WGAN-GP + drift, Adam(lr, 0, 0.99) and a generator EMA of the same per-step decay.
Then the EMA generators and the raw (trained) generators are scored by the Frechet VGG16
distance at 16 px (same test faces, same latents, same number of samples) and shown side by
side, and the training speeds (steps/s over the whole run) are compared. Writes
DIR/results.json and DIR/samples.png (rows: test faces, then EMA and raw samples of each).

  pip install -r requirements-bench.txt && pip install --no-deps pro-gan-pth==3.4
  python -m benchmarks.pytorch.compare_pro_gan_pth --out=docs/progan_vs_pro_gan_pth

pro-gan-pth is used as its own training loop uses it: its Generator, Discriminator, WganGP
loss, ProGAN.optimize_discriminator / optimize_generator and update_average, with its alpha
ramp (ticker / fader point). Its widths come from a module function nf(stage); the script
replaces it so both networks have the config's widths (benchmarks/pytorch/pro_gan_pth.py).
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import time

import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags, logging
from ml_collections import config_flags

from nam_jax import files, images, layers
from nam_jax.data import datasets, pipeline
from nam_jax.eval import frechet
from nam_jax.progan import train as progan_train

from benchmarks.pytorch import pro_gan_pth

REPO = pathlib.Path(__file__).resolve().parents[2]
_CONFIG = config_flags.DEFINE_config_file('config', str(REPO / 'configs' / 'cpu.py'),
                                          'Config file (widths, batch sizes, optimiser).')
_OUT = flags.DEFINE_string('out', 'docs/progan_vs_pro_gan_pth', 'Output folder.')
_FADE = flags.DEFINE_list('fade_images', ['0', '16000', '16000'], 'Images per fade-in phase.')
_STABLE = flags.DEFINE_list('stable_images', ['32000', '16000', '16000'],
                            'Images per stabilise phase.')
_TRAIN_FACES = flags.DEFINE_integer('train_faces', 1000, 'HR training faces.')
_TEST_FACES = flags.DEFINE_integer('test_faces', 200, 'HR test faces (Frechet reference).')
_SAMPLES = flags.DEFINE_integer('samples', 1000, 'Generated faces per Frechet distance.')
_WORKDIR = flags.DEFINE_string('workdir', 'runs/compare_pro_gan_pth',
                                'Training folder of the nam_jax run (checkpoints; not results).')
_FRESH = flags.DEFINE_bool('fresh', True, 'Retrain nam_jax from scratch (timed). --nofresh '
                           'reuses a finished --workdir: its scores, not its speed.')
_TIMED = flags.DEFINE_bool('timed', True, 'Record the training speeds (--notimed keeps those '
                           'of an earlier run in results.json, e.g. when the machine is busy).')
_ONLY = flags.DEFINE_enum('only', 'both', ['both', 'nam_jax', 'pro_gan_pth'], 'What to train.')

STAGES = 3  # 4, 8, 16 px.
RES = 16


def _config():
  config = _CONFIG.value.copy_and_resolve_references()
  config.data.update(hr_train=_TRAIN_FACES.value, hr_test=_TEST_FACES.value)
  p = config.progan
  p.update(widths=tuple(p.widths[:STAGES]), batch_sizes=tuple(p.batch_sizes[:STAGES]),
           fade_images=tuple(int(i) for i in _FADE.value),
           stable_images=tuple(int(i) for i in _STABLE.value),
           minutes=0.0, ema_half_life_images=0, eval_samples=0, image_every=0,
           ckpt_every=10**9, log_every=100)
  return config


def _real16(source, n: int) -> np.ndarray:
  """The first n faces, average-pooled to 16 px, float in [-1, 1]."""
  x = pipeline.to_float(datasets.take(source, n))
  return np.asarray(layers.avg_pool(jnp.asarray(x), 64 // RES))


def train_nam_jax(config, workdir: pathlib.Path):
  """Ours, through the project's own trainer; returns a sampler z [N, 512] -> 16 px images."""
  if workdir.exists() and _FRESH.value:  # Scratch: a resumed run would not time training.
    shutil.rmtree(workdir)
  t0 = time.perf_counter()
  state = progan_train.train(config, workdir)
  seconds = time.perf_counter() - t0 if _FRESH.value and _TIMED.value else None
  cfg = config.progan
  samplers = {v: (lambda z, p=p: np.asarray(progan_train.sample(cfg, p, jnp.asarray(z),
                                                                 STAGES - 1)))
              for v, p in (('ema', state.g_ema), ('raw', state.g_params))}
  return samplers, seconds


def train_pro_gan_pth(config, schedule: progan_train.Schedule, hr_train):
  """pro-gan-pth's training steps on our batch stream; returns a sampler and seconds."""
  import torch
  torch.manual_seed(config.seed)
  torch.set_num_threads(len(os.sched_getaffinity(0)))
  cfg = config.progan
  depth = STAGES + 1  # pro-gan-pth counts depth from 2 (4 px): 16 px is depth 4.
  gan, progan, loss, g_opt, d_opt = pro_gan_pth.trainer(cfg, depth)
  t0 = time.perf_counter()
  for stage in range(STAGES):
    ds = pipeline.training_batches(hr_train, schedule.batch_sizes[stage],
                                   config.seed + 10 * stage, config.data.flip)
    fade = schedule.fade_steps[stage]
    for k in range(schedule.steps[stage]):
      # Their ramp: alpha = ticker / fader_point (ticker from 1), then 1.
      alpha = (k + 1) / fade if fade and k + 1 <= fade else 1.0
      x = np.asarray(layers.avg_pool(jnp.asarray(ds[k]), 64 // RES))
      real = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
      noise = torch.randn(real.shape[0], cfg.latent_dim)
      progan.optimize_discriminator(loss, d_opt, noise, real, stage + 2, alpha)
      gan.update_average(progan.gen_shadow, progan.gen, beta=progan.ema_beta)
      progan.optimize_generator(loss, g_opt, noise, real, stage + 2, alpha)
    logging.warning('pro-gan-pth stage %d done after %.0f s', stage, time.perf_counter() - t0)
  seconds = time.perf_counter() - t0 if _TIMED.value else None

  def sampler(z, net):
    with torch.no_grad():
      out = net(torch.from_numpy(np.asarray(z, np.float32)), depth, 1.0)
    return out.numpy().transpose(0, 2, 3, 1)

  return {'ema': lambda z: sampler(z, progan.gen_shadow),
          'raw': lambda z: sampler(z, progan.gen)}, seconds


def _samples(sampler, n: int, latent_dim: int, seed: int) -> np.ndarray:
  z = np.asarray(jax.random.normal(jax.random.key(seed), (n, latent_dim)))
  return np.clip(np.concatenate([sampler(z[i:i + 100]) for i in range(0, n, 100)]), -1, 1)


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)
  config = _config()
  schedule = progan_train.Schedule.from_config(config.progan)
  out = pathlib.Path(_OUT.value)
  out.mkdir(parents=True, exist_ok=True)
  hr_train = datasets.hr_source(config.data, 'train')
  real_test = _real16(datasets.hr_source(config.data, 'test'), _TEST_FACES.value)
  reference = frechet.embed(real_test)
  results_path = out / 'results.json'
  results = json.loads(results_path.read_text()) if results_path.exists() else {}
  results['setup'] = {
      'widths': list(config.progan.widths), 'latent_dim': config.progan.latent_dim,
      'batch_sizes': list(schedule.batch_sizes), 'fade_steps': list(schedule.fade_steps),
      'stable_steps': list(schedule.stable_steps),
      'images_shown': [schedule.images(s) for s in range(STAGES)],
      'train_faces': len(hr_train), 'test_faces': len(real_test), 'samples': _SAMPLES.value}
  print(f'schedule: steps {schedule.steps}, images {results["setup"]["images_shown"]}')
  runs = {'nam_jax': lambda: train_nam_jax(config, pathlib.Path(_WORKDIR.value)),
          'pro_gan_pth': lambda: train_pro_gan_pth(config, schedule, hr_train)}
  for name, run in runs.items():
    if _ONLY.value not in ('both', name):
      continue
    samplers, seconds = run()
    entry = dict(results.get(name, {}))
    if seconds is not None:
      entry.update(train_seconds=seconds, steps_per_sec=schedule.total / seconds)
    for variant, sampler in samplers.items():
      fake = _samples(sampler, _SAMPLES.value, config.progan.latent_dim, 10_000)
      key = 'frechet_vgg16_16px' + ('' if variant == 'ema' else '_raw')
      entry[key] = frechet.frechet_distance(frechet.embed(fake), reference)
      np.save(out / f'{name}{"" if variant == "ema" else "_raw"}_samples.npy', fake[:16])
      print(f'{name} ({variant}): Frechet VGG16 at 16 px {entry[key]:.2f}')
    if 'steps_per_sec' in entry:
      print(f'{name}: {entry["train_seconds"]:.0f} s, {entry["steps_per_sec"]:.2f} steps/s')
    results[name] = entry
    files.write_json(results_path, results)
  # Two rows each: test faces, then each implementation's EMA and raw generator (same latents).
  names = [f'{n}{v}_samples.npy' for n in runs for v in ('', '_raw')]
  shown = [real_test[:16]] + [np.load(out / f) for f in names if (out / f).exists()]
  images.save_png(out / 'samples.png',
                  images.grid([list(x[i:i + 8]) for x in shown for i in (0, 8)]))
  if 'nam_jax' in results and 'pro_gan_pth' in results:
    a, b = results['nam_jax'], results['pro_gan_pth']
    results['ratios'] = {'speed_nam_jax_over_pro_gan_pth': a['steps_per_sec'] / b['steps_per_sec'],
                         'frechet_nam_jax_minus_pro_gan_pth':
                             a['frechet_vgg16_16px'] - b['frechet_vgg16_16px']}
    print(json.dumps(results['ratios'], indent=2))
  files.write_json(results_path, results)


if __name__ == '__main__':
  app.run(main)
