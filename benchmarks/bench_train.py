"""Training speed against PyTorch, measured side by side: each ProGAN stage against
pro-gan-pth (the PyTorch ProGAN SR-NAM used) with the same widths, latent size and batch
sizes, and the degradation GAN against its PyTorch twin (benchmarks/pytorch/torch_degrade.py).

Forms (each row in its own subprocess: the XLA set-up is fixed when JAX starts):
  jax1         nam_jax on one XLA device, XLA's own convolutions (nam_jax.devices' default)
  jax          the batch split over one XLA device per core (data parallel)
  jax1_ynn     one device with XLA's default YNNPACK convolutions (nam_jax before this change)
  jax_ynn      split, YNNPACK (how train.py ran ProGAN stages from 16 px before this change)
  torch        pro-gan-pth for ProGAN stages, the torch twin for `degrade`; 2 threads
A row times `--steps` full training steps after warm-up steps (compilation for JAX). A
ProGAN step: critic update with gradient penalty and drift, generator update, EMA, in the
stage's stable phase. A degradation GAN step: `n_critic` critic updates (hinge + gradient
penalty), one generator update (L1 + VGG16 perceptual + adversarial).

  pip install -r requirements-bench.txt && pip install --no-deps pro-gan-pth==3.4
  python benchmarks/bench_train.py --out=docs/bench_train.json
"""

from __future__ import annotations

import json
import os
import pathlib
import sys
import time

from absl import app, flags
from ml_collections import config_flags

from benchmarks import isolated

REPO = pathlib.Path(__file__).resolve().parents[1]
_CONFIG = config_flags.DEFINE_config_file('config', str(REPO / 'configs' / 'cpu.py'),
                                          'Config file (widths, batch sizes, optimiser).')
_STAGES = flags.DEFINE_list('stages', ['0', '1', '2', '3', '4', 'degrade'],
                            'ProGAN stages to time, and/or "degrade" (the degradation GAN).')
_FORMS = flags.DEFINE_list('forms', ['jax1', 'jax', 'jax1_ynn', 'jax_ynn', 'torch'],
                           'See the module docstring. The degradation GAN trains on one '
                           'device: its split forms are skipped.')
_STEPS = flags.DEFINE_integer('steps', 10, 'Timed training steps per row.')
_WARMUP = flags.DEFINE_integer('warmup', 2, 'Untimed steps first (compilation, allocator).')
_OUT = flags.DEFINE_string('out', '', 'Write the rows and ratios to this JSON file.')
_ONE = flags.DEFINE_string('one', '', 'Internal: run one FORM:STAGE row.')


def _timed(step, n_warm: int, n: int) -> tuple[float, float]:
  """(seconds of the warm-up calls, seconds per timed call); step() must block."""
  t = time.perf_counter()
  for _ in range(n_warm):
    step()
  warm = time.perf_counter() - t
  t = time.perf_counter()
  for _ in range(n):
    step()
  return warm, (time.perf_counter() - t) / n


def _jax_row(cfg, stage: int, split: bool) -> dict:
  import jax
  import numpy as np

  from nam_jax import devices
  from nam_jax.progan import train as progan_train
  b = cfg.batch_sizes[stage]
  mesh = devices.batch_mesh(b, None if split else jax.devices()[:1])
  state = progan_train.init_state(cfg, jax.random.key(0))
  if mesh.size > 1:
    state = jax.device_put(state, devices.replicated(mesh))
  step = progan_train.make_step(cfg, stage, mesh)
  real = np.random.RandomState(0).uniform(-1, 1, (cfg.n_critic, b, 64, 64, 3)).astype('f4')
  box = [state]

  def one():
    box[0], metrics = step(box[0], real, np.float32(1.0), np.float32(0.999),
                           jax.random.key(len(box)))
    jax.block_until_ready(metrics)

  warm, sec = _timed(one, _WARMUP.value, _STEPS.value)
  return {'devices': mesh.size, 'warmup_s': warm, 'seconds_per_step': sec}


def _jax_degrade_row(cfg) -> dict:
  import jax

  from nam_jax.degrade import train as degrade_train
  from nam_jax.eval import vgg
  state = degrade_train.init_state(cfg, jax.random.key(0))
  step = degrade_train.make_step(cfg)
  vgg_params = vgg.load_params() if cfg.delta else {}
  hr, lr = _degrade_batches(cfg, channels_last=True)
  box = [state]

  def one():
    box[0], metrics = step(box[0], hr, lr, jax.random.key(len(box)), vgg_params)
    jax.block_until_ready(metrics)

  warm, sec = _timed(one, _WARMUP.value, _STEPS.value)
  return {'devices': 1, 'warmup_s': warm, 'seconds_per_step': sec}


def _degrade_batches(cfg, channels_last: bool):
  import numpy as np
  rs, b, n = np.random.RandomState(0), cfg.batch_size, cfg.n_critic
  hr = rs.uniform(-1, 1, (n + 1, b, 64, 64, 3)).astype('f4')
  lr = rs.uniform(-1, 1, (n, b, 16, 16, 3)).astype('f4')
  if channels_last:
    return hr, lr
  return (np.ascontiguousarray(hr.transpose(0, 1, 4, 2, 3)),
          np.ascontiguousarray(lr.transpose(0, 1, 4, 2, 3)))


def _torch_degrade_row(cfg) -> dict:
  import jax
  import torch

  from benchmarks.pytorch import torch_degrade
  from nam_jax.degrade import train as degrade_train
  torch.set_num_threads(len(os.sched_getaffinity(0)))
  trainer = torch_degrade.Trainer(cfg)
  state = jax.eval_shape(lambda: degrade_train.init_state(cfg, jax.random.key(0)))
  ours = sum(x.size for x in jax.tree.leaves((state.g_params, state.d_params)))
  theirs = torch_degrade.parameter_count(trainer.g, trainer.d)
  if ours != theirs:
    raise SystemExit(f'error: torch twin has {theirs} parameters, nam_jax {ours}')
  hr, lr = (torch.from_numpy(a) for a in _degrade_batches(cfg, channels_last=False))
  warm, sec = _timed(lambda: trainer.step(hr, lr), _WARMUP.value, _STEPS.value)
  return {'devices': 1, 'torch_threads': torch.get_num_threads(), 'warmup_s': warm,
          'seconds_per_step': sec, 'torch': torch.__version__, 'parameters': ours}


def _torch_row(cfg, stage: int) -> dict:
  import numpy as np
  import torch

  from benchmarks.pytorch import pro_gan_pth
  torch.set_num_threads(len(os.sched_getaffinity(0)))
  depth = len(cfg.widths) + 1  # pro-gan-pth counts depth from 2 (4 px).
  gan, progan, loss, g_opt, d_opt = pro_gan_pth.trainer(cfg, depth)
  b, res = cfg.batch_sizes[stage], 4 * 2 ** (len(cfg.widths) - 1)
  # Full-size reals: pro-gan-pth pools them to the stage itself (as our step does).
  real = torch.from_numpy(np.random.RandomState(0).uniform(-1, 1, (b, 3, res, res)).astype('f4'))

  def one():
    noise = torch.randn(b, cfg.latent_dim)
    progan.optimize_discriminator(loss, d_opt, noise, real, stage + 2, 1.0)
    gan.update_average(progan.gen_shadow, progan.gen, beta=progan.ema_beta)
    progan.optimize_generator(loss, g_opt, noise, real, stage + 2, 1.0)

  warm, sec = _timed(one, _WARMUP.value, _STEPS.value)
  return {'devices': 1, 'torch_threads': torch.get_num_threads(), 'warmup_s': warm,
          'seconds_per_step': sec, 'torch': torch.__version__}


def _one(spec: str) -> None:
  form, stage = spec.split(':')
  if form != 'torch':
    from nam_jax import devices
    devices.configure_host_cpu()  # The set-up _spawn asked for; before JAX starts.
  if stage == 'degrade':
    cfg = _CONFIG.value.degrade
    row = _torch_degrade_row(cfg) if form == 'torch' else _jax_degrade_row(cfg)
    row.update(resolution=64, batch=cfg.batch_size)
  else:
    cfg = _CONFIG.value.progan
    s = int(stage)
    row = (_torch_row(cfg, s) if form == 'torch'
           else _jax_row(cfg, s, split=not form.startswith('jax1')))
    row.update(resolution=4 * 2 ** s, batch=cfg.batch_sizes[s])
  row.update(form=form, stage=stage, steps=_STEPS.value)
  isolated.emit(row)


def _spawn(form: str, stage: str) -> dict:
  cmd = [sys.executable, __file__, f'--one={form}:{stage}', f'--steps={_STEPS.value}',
         f'--warmup={_WARMUP.value}'] + [a for a in sys.argv[1:] if a.startswith('--config')]
  one_device = form.startswith('jax1')
  return isolated.spawn(cmd, f'{form}:{stage}', host_devices=1 if one_device else None,
                        cwd=REPO, ynnpack=form.endswith('_ynn'))


def main(argv):
  del argv
  if _ONE.value:
    return _one(_ONE.value)
  cfg, dcfg = _CONFIG.value.progan, _CONFIG.value.degrade
  print(f'{os.cpu_count()} CPUs; ProGAN widths {tuple(cfg.widths)}, batch sizes '
        f'{tuple(cfg.batch_sizes)}; degradation GAN widths {tuple(dcfg.gen_widths)} / '
        f'{tuple(dcfg.critic_widths)}, batch {dcfg.batch_size}, n_critic {dcfg.n_critic}; '
        f'{_STEPS.value} timed steps per row')
  print(f'{"stage":>7}{"px":>5}{"batch":>6}  {"form":<12}{"devices":>8}{"s/step":>9}'
        f'{"images/s":>10}', flush=True)
  table = []
  for stage in _STAGES.value:
    for form in _FORMS.value:
      if stage == 'degrade' and form in ('jax', 'jax_ynn'):
        continue  # train.py trains the degradation GAN on one device.
      row = _spawn(form, stage)
      row['images_per_s'] = row['batch'] / row['seconds_per_step']
      table.append(row)
      print(f'{row["stage"]:>7}{row["resolution"]:>5}{row["batch"]:>6}  {form:<12}'
            f'{row["devices"]:>8}{row["seconds_per_step"]:>9.3f}{row["images_per_s"]:>10.1f}',
            flush=True)
  speed = {(r['form'], r['stage']): r['images_per_s'] for r in table}
  ratios = {}
  for (form, stage), v in speed.items():
    for other in ('torch', 'jax1_ynn', 'jax_ynn'):
      if form in ('jax1', 'jax') and (other, stage) in speed:
        ratios[f'{form}_over_{other}_{stage}'] = v / speed[(other, stage)]
  print(json.dumps(ratios, indent=2))
  if _OUT.value:
    from nam_jax import files
    files.write_json(_OUT.value, {'cpus': os.cpu_count(), 'widths': list(cfg.widths),
                                  'batch_sizes': list(cfg.batch_sizes),
                                  'degrade': dcfg.to_dict(), 'steps': _STEPS.value,
                                  'rows': table, 'ratios': ratios})


if __name__ == '__main__':
  app.run(main)
