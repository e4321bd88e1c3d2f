"""Training speed per ProGAN stage: nam_jax on one XLA device, nam_jax data parallel over one
device per core (nam_jax.devices; train.py uses it from progan_train.DATA_PARALLEL_FROM px,
chosen from these figures), and pro-gan-pth (the PyTorch ProGAN
SR-NAM used) with the same widths, latent size and batch sizes, measured side by side.

Each row runs in its own subprocess (the device count is fixed when JAX starts). A row times
`--steps` full training steps (critic update with gradient penalty and drift, generator
update, EMA) in the stable phase of each stage, after warm-up steps (compilation for JAX).

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

import isolated  # benchmarks/ is this script's folder.

REPO = pathlib.Path(__file__).resolve().parents[1]
_CONFIG = config_flags.DEFINE_config_file('config', str(REPO / 'configs' / 'cpu.py'),
                                          'Config file (widths, batch sizes, optimiser).')
_STAGES = flags.DEFINE_list('stages', ['0', '1', '2', '3', '4'], 'ProGAN stages to time.')
_FORMS = flags.DEFINE_list('forms', ['jax1', 'jax', 'pro_gan_pth'],
                           'jax1: one device; jax: one device per core; pro_gan_pth.')
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


def _jax_row(cfg, stage: int) -> dict:
  import jax
  import numpy as np

  from nam_jax import devices
  from nam_jax.progan import train as progan_train
  b = cfg.batch_sizes[stage]
  mesh = devices.batch_mesh(b)
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


def _torch_row(cfg, stage: int) -> dict:
  import numpy as np
  import torch

  import pro_gan_pth  # benchmarks/ is this script's folder.
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
  if form.startswith('jax'):
    from nam_jax import devices
    devices.split_host_cpu()  # The count _spawn asked for; before JAX starts.
  cfg = _CONFIG.value.progan
  row = _torch_row(cfg, int(stage)) if form == 'pro_gan_pth' else _jax_row(cfg, int(stage))
  row.update(form=form, stage=int(stage), resolution=4 * 2 ** int(stage),
             batch=cfg.batch_sizes[int(stage)], steps=_STEPS.value)
  isolated.emit(row)


def _spawn(form: str, stage: str) -> dict:
  cmd = [sys.executable, __file__, f'--one={form}:{stage}', f'--steps={_STEPS.value}',
         f'--warmup={_WARMUP.value}'] + [a for a in sys.argv[1:] if a.startswith('--config')]
  return isolated.spawn(cmd, f'{form}:{stage}', host_devices=1 if form == 'jax1' else None,
                    cwd=REPO)


def main(argv):
  del argv
  if _ONE.value:
    return _one(_ONE.value)
  cfg = _CONFIG.value.progan
  print(f'{os.cpu_count()} CPUs; ProGAN widths {tuple(cfg.widths)}, batch sizes '
        f'{tuple(cfg.batch_sizes)}; {_STEPS.value} timed steps per row')
  print(f'{"stage":>5}{"px":>5}{"batch":>6}  {"form":<12}{"devices":>8}{"s/step":>9}'
        f'{"images/s":>10}', flush=True)
  table = []
  for stage in _STAGES.value:
    for form in _FORMS.value:
      row = _spawn(form, stage)
      row['images_per_s'] = row['batch'] / row['seconds_per_step']
      table.append(row)
      print(f'{row["stage"]:>5}{row["resolution"]:>5}{row["batch"]:>6}  {form:<12}'
            f'{row["devices"]:>8}{row["seconds_per_step"]:>9.3f}{row["images_per_s"]:>10.1f}',
            flush=True)
  speed = {(r['form'], r['stage']): r['images_per_s'] for r in table}
  ratios = {}
  for (form, stage), v in speed.items():
    if form.startswith('jax') and ('pro_gan_pth', stage) in speed:
      ratios[f'{form}_over_pro_gan_pth_stage{stage}'] = v / speed[('pro_gan_pth', stage)]
    if form == 'jax' and ('jax1', stage) in speed:
      ratios[f'jax_over_jax1_stage{stage}'] = v / speed[('jax1', stage)]
  print(json.dumps(ratios, indent=2))
  if _OUT.value:
    from nam_jax import files
    files.write_json(_OUT.value, {'cpus': os.cpu_count(), 'widths': list(cfg.widths),
                                  'batch_sizes': list(cfg.batch_sizes), 'steps': _STEPS.value,
                                  'rows': table, 'ratios': ratios})


if __name__ == '__main__':
  app.run(main)
