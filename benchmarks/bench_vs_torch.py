"""SR-NAM inference throughput: nam_jax's fused program, the same jitted step in a Python
loop, and an equivalent PyTorch implementation, for 1..256 seeds, measured side by side.

Each (prior, form, seeds) runs in its own subprocess (so peak memory is its own), on the
shipped cpu-size networks: the ProGAN prior or the cut-down MobileStyleGAN prior (W space,
synthesis to 16 px + the distilled 64 px head), and the H2L degradation; torch twins in
benchmarks/pytorch/torch_nets.py, checked to compute the same images first. `--steps` Adam
iterations on the latents with the degradation noise fixed at zero:
  fused    search.solve: vmap over candidates + lax.scan over iterations, one XLA program,
           the candidate axis sharded over one XLA device per core (nam_jax.devices), as
           infer.py runs it
  fused1   the same on one XLA device
  fused_xla / fused_ynn  fused with XLA's own convolutions / with YNNPACK's (XLA's default).
           infer.py picks per prior (its config block's `ynnpack`): XLA's own for ProGAN,
           YNNPACK for StyleGAN; before this choice, every program ran with YNNPACK
  loop     one jitted, vmapped Adam step (sharded the same way), called from a Python loop
  torch    a batch of latents, torch.optim.Adam, forward/backward in a Python loop (as the
           NAM/PULSE code does), torch's own CPU threads
Reported per row: compile seconds (first call minus a timed call; 0 for torch), seconds per
iteration, candidate-iterations per second, peak resident memory, and GFLOP/s from XLA's
cost analysis of one step (the same FLOPs credited to every form) as a share of a large f32
matmul's GFLOP/s measured in the same run. Also the fused program chunked by --max_batch.

  pip install -r requirements-bench.txt
  python benchmarks/bench_vs_torch.py --out=docs/bench_vs_torch.json --plot=docs/bench_scaling.png
"""

from __future__ import annotations

import json
import os
import pathlib
import sys
import time

from absl import app, flags

from benchmarks import isolated

REPO = pathlib.Path(__file__).resolve().parents[1]
_PRIORS = flags.DEFINE_list('priors', ['progan', 'stylegan'], 'Face priors.')
_SEEDS = flags.DEFINE_list('seeds', ['1', '4', '16', '64', '256'], 'Candidate counts.')
_FORMS = flags.DEFINE_list('forms', ['fused', 'fused1', 'fused_xla', 'fused_ynn', 'loop',
                                     'torch'],
                           'Forms to time (see the module docstring).')
_STEPS = flags.DEFINE_integer('steps', 20, 'Adam iterations timed per run.')
_CHUNK = flags.DEFINE_integer('max_batch', 64, 'Chunk size of the extra "fused chunked" rows '
                              '(candidate counts above it); 0 = none.')
_OUT = flags.DEFINE_string('out', '', 'Write all rows to this JSON file.')
_PLOT = flags.DEFINE_string('plot', '', 'Write the scaling plot (PNG) here.')
_ONE = flags.DEFINE_string('one', '', 'Internal: run one PRIOR:FORM:SEEDS[:CHUNK] row.')

DEGRADATION = 'checkpoints/degrade_cpu'


def _block(prior: str) -> dict:
  """The prior's config block (nam.priors.PRIOR of configs/cpu.py): module, ckpt, ynnpack and
  its solver defaults (the learning rate every form uses)."""
  from configs import cpu
  from nam_jax.nam import settings
  return settings.prior_block(cpu.get_config().nam, prior)


def _lr(prior: str) -> float:
  return float(_block(prior)['solver']['learning_rate'])


def _networks(prior: str):
  from nam_jax import priors
  from nam_jax.nam import invert
  block = _block(prior)
  pr = priors.load_prior(block['module'], REPO / block['ckpt'])
  deg = priors.load_degradation('nam_jax.degradations.h2l', REPO / DEGRADATION)
  return invert.Networks(pr.model, deg.model), pr.weights, deg.weights


def _problem(nets, prior_params, c: int):
  """The same starting latents (the prior's own initial_latent of seeded keys) and LR
  targets for every form, as numpy arrays."""
  import jax
  import numpy as np
  keys = jax.random.split(jax.random.key(0), c)
  z0 = np.asarray(jax.vmap(lambda k: nets.prior.initial_latent(prior_params, k))(keys))
  targets = np.random.RandomState(0).uniform(-1, 1, (c, 16, 16, 3)).astype(np.float32)
  return z0, targets


def _torch_prior(prior: str, nets, prior_params):
  from benchmarks.pytorch import torch_nets
  if prior == 'progan':
    return torch_nets.ProGANGenerator(prior_params, nets.prior.widths)
  return torch_nets.StyleGAN64(prior_params['synthesis'], prior_params['head'])


def _jax_row(prior: str, form: str, c: int, steps: int, chunk: int) -> dict:
  import jax
  import jax.numpy as jnp
  import numpy as np
  import optax

  from nam_jax import devices
  from nam_jax.nam import invert, search
  nets, prior_params, deg_vars = _networks(prior)
  z0, targets = map(jnp.asarray, _problem(nets, prior_params, c))
  noise = jnp.zeros((nets.degradation.noise_dim,))
  tx = optax.adam(_lr(prior))

  def total_loss(z, t):
    return jnp.sum(jax.vmap(lambda zz, tt: invert.lr_l1(nets, prior_params, deg_vars, zz,
                                                        noise, tt))(z, t))

  @jax.jit
  def one_step(z, opt_state, t):
    grads = jax.grad(total_loss)(z, t)
    updates, opt_state = tx.update(grads, opt_state, z)
    return optax.apply_updates(z, updates), opt_state

  flops = one_step.lower(z0, tx.init(z0), targets).compile().cost_analysis()
  flops = (flops[0] if isinstance(flops, list) else flops).get('flops', float('nan'))

  # Both forms as nam_jax.nam.chunks runs them: the candidate axis sharded over the host's
  # devices (one per core, nam_jax.devices), the networks replicated.
  size = min(chunk, c) if chunk else c
  mesh = devices.batch_mesh(size)
  shard = devices.sharded(mesh)
  prior_params, deg_vars = jax.device_put((prior_params, deg_vars), devices.replicated(mesh))
  host_targets = np.asarray(targets)
  z0, targets = jax.device_put((z0, targets), shard)
  if form == 'loop':
    def run():
      z, s = z0, tx.init(z0)
      for _ in range(steps):
        z, s = one_step(z, s, targets)
      return z
  else:
    opts = invert.Options(steps=steps, learning_rate=_lr(prior), b1=0.9, b2=0.999, noise='zero',
                          sphere=False, mean_pull=0.0, unroll=1, schedule='constant',
                          start_pool=1, stop_patience=0, stop_tol=0.0, stop_behind=0.0,
                          progress=False)
    # The fused program starts from its own keyed latents; the work is the same.
    keys = jax.vmap(lambda s: invert.candidate_key(0, s))(jnp.arange(c))

    def run():  # Each chunk placed on the mesh from the host, as chunks.super_resolve does.
      return [search.solve(jax.device_put(keys[i:i + size], shard),
                           jax.device_put(host_targets[i:i + size], shard), prior_params,
                           deg_vars, nets=nets, opts=opts)['z'] for i in range(0, c, size)]
  t = time.perf_counter()
  jax.block_until_ready(run())
  first = time.perf_counter() - t
  t = time.perf_counter()
  jax.block_until_ready(run())
  sec = time.perf_counter() - t
  return {'compile_s': max(first - sec, 0.0), 'seconds': sec, 'flops_per_step': flops,
          'devices': mesh.size}


def _torch_row(prior: str, c: int, steps: int) -> dict:
  import torch

  from benchmarks.pytorch import torch_nets
  nets, prior_params, deg_vars = _networks(prior)
  g = _torch_prior(prior, nets, prior_params)
  d = torch_nets.Degrader(deg_vars, nets.degradation.widths, nets.degradation.blocks_per_group)
  z0, targets = _problem(nets, prior_params, c)
  target = torch.from_numpy(targets.transpose(0, 3, 1, 2).copy())
  noise = torch.zeros(c, nets.degradation.noise_dim)

  def run():
    z = torch.from_numpy(z0.copy()).requires_grad_(True)
    opt = torch.optim.Adam([z], lr=_lr(prior))
    for _ in range(steps):
      opt.zero_grad(set_to_none=True)
      loss = (d(g(z), noise) - target).abs().mean(dim=(1, 2, 3)).sum()
      loss.backward()
      opt.step()
    return z

  run()  # Warm-up (allocator, thread pool), as the JAX rows' first call.
  t = time.perf_counter()
  run()
  return {'compile_s': 0.0, 'seconds': time.perf_counter() - t,
          'torch_threads': torch.get_num_threads(), 'torch': torch.__version__}


def _check_torch_matches(prior: str) -> float:
  """Max |difference| of the LR images of both implementations for the same latents."""
  import jax.numpy as jnp
  import numpy as np
  import torch

  from benchmarks.pytorch import torch_nets
  nets, prior_params, deg_vars = _networks(prior)
  z0, _ = _problem(nets, prior_params, 4)
  noise = np.zeros((4, nets.degradation.noise_dim), np.float32)
  ours = np.asarray(nets.degradation(deg_vars, nets.prior.generate(prior_params, jnp.asarray(z0)),
                                     jnp.asarray(noise)))
  g = _torch_prior(prior, nets, prior_params)
  d = torch_nets.Degrader(deg_vars, nets.degradation.widths, nets.degradation.blocks_per_group)
  with torch.no_grad():
    theirs = d(g(torch.from_numpy(z0)), torch.from_numpy(noise)).numpy().transpose(0, 2, 3, 1)
  return float(np.abs(ours - theirs).max())


def _peak_rss_mb() -> float:
  """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited from the
  process that started it)."""
  for line in pathlib.Path('/proc/self/status').read_text().splitlines():
    if line.startswith('VmHWM:'):
      return int(line.split()[1]) / 1024
  return float('nan')


def _one(spec: str) -> None:
  parts = spec.split(':')
  prior, form, c = parts[0], parts[1], int(parts[2])
  chunk = int(parts[3]) if len(parts) > 3 else 0
  if form != 'torch':
    from nam_jax import devices
    devices.configure_host_cpu()  # The count _spawn asked for; before JAX starts.
    row = _jax_row(prior, _base(form), c, _STEPS.value, chunk)
  else:
    row = _torch_row(prior, c, _STEPS.value)
  row.update(prior=prior, form=form if not chunk else f'{form} chunked {chunk}', seeds=c,
             steps=_STEPS.value, peak_rss_mb=_peak_rss_mb())
  isolated.emit(row)


def _base(form: str) -> str:
  """'fused1' / 'loop_ynn' / ... -> 'fused' / 'loop'."""
  return form.split('_')[0].rstrip('1')


def _spawn(spec: str) -> dict:
  cmd = [sys.executable, __file__, f'--one={spec}', f'--steps={_STEPS.value}']
  prior, form = spec.split(':')[:2]  # A '1' after the base form: one XLA device.
  ynnpack = {'ynn': True, 'xla': False}.get(form.split('_')[-1], _block(prior)['ynnpack'])
  return isolated.spawn(cmd, spec, host_devices=1 if form.split('_')[0].endswith('1') else None,
                        cwd=REPO, ynnpack=ynnpack)


def _print_row(row: dict) -> None:
  c, per_iter = row['seeds'], row['seconds'] / row['steps']
  print(f'{row["prior"]:<10}{row["form"]:<18}{c:>6}{row["compile_s"]:>10.1f}{per_iter:>9.3f}'
        f'{row["cand_it_per_s"]:>11.1f}{1e3 / row["cand_it_per_s"]:>11.2f}'
        f'{row["gflops"]:>9.1f}{100 * row["share_of_matmul"]:>8.0f}%'
        f'{row["peak_rss_mb"]:>9.0f}', flush=True)


def _ratios(rows: list[dict]) -> dict:
  by = {(r['prior'], r['form'], r['seeds']): r['cand_it_per_s'] for r in rows}
  out = {}
  for (prior, form, s), speed in by.items():
    if form == 'fused':
      for other in ('torch', 'loop', 'fused1', 'fused_xla', 'fused_ynn'):
        if (prior, other, s) in by:
          out[f'{prior}_fused_over_{other}_{s}'] = speed / by[(prior, other, s)]
      if s == 256 and (prior, 'fused', 16) in by:
        out[f'{prior}_time_per_candidate_256_over_16'] = by[(prior, 'fused', 16)] / speed
  return out


def main(argv):
  del argv
  if _ONE.value:
    return _one(_ONE.value)
  import platform

  import jax
  matmul = isolated.matmul_gflops()
  print(f'jax {jax.__version__}, {os.cpu_count()} CPUs ({platform.processor() or "cpu"}); '
        f'f32 matmul 4096x4096: {matmul:.0f} GFLOP/s; {_STEPS.value} iterations per run')
  diffs = {}
  for prior in _PRIORS.value:
    if 'torch' in _FORMS.value:
      diffs[prior] = _check_torch_matches(prior)
      print(f'{prior}: torch twin vs nam_jax, LR images max |difference| {diffs[prior]:.2e}')
      if diffs[prior] > 1e-3:
        raise SystemExit(f'error: the torch {prior} networks do not compute the same function')
  specs = [f'{prior}:{form}:{s}' for prior in _PRIORS.value for s in _SEEDS.value
           for form in _FORMS.value]
  if _CHUNK.value:
    specs += [f'{prior}:fused:{s}:{_CHUNK.value}' for prior in _PRIORS.value
              for s in _SEEDS.value if int(s) > _CHUNK.value]
  print(f'{"prior":<10}{"form":<18}{"seeds":>6}{"compile s":>10}{"s/iter":>9}{"cand-it/s":>11}'
        f'{"ms/cand-it":>11}{"GFLOP/s":>9}{"% matmul":>9}{"peak MB":>9}', flush=True)
  rows, flops = [], {}
  for spec in specs:
    row = _spawn(spec)
    key = (row['prior'], row['seeds'])
    if 'flops_per_step' in row:
      flops[key] = row['flops_per_step']
    per_iter = row['seconds'] / row['steps']
    row['cand_it_per_s'] = row['seeds'] / per_iter
    row['gflops'] = flops.get(key, float('nan')) / per_iter / 1e9
    row['share_of_matmul'] = row['gflops'] / matmul
    rows.append(row)
    _print_row(row)
    # Written after every row: a run cut short keeps what it measured.
    if _OUT.value:
      from nam_jax import files
      files.write_json(_OUT.value, {'machine': {'cpus': os.cpu_count(), 'jax': jax.__version__},
                                    'matmul_gflops': matmul, 'torch_max_abs_diff': diffs,
                                    'steps': _STEPS.value, 'rows': rows,
                                    'ratios': _ratios(rows)})
    if _PLOT.value:
      _plot(rows, pathlib.Path(_PLOT.value))
  print(json.dumps(_ratios(rows), indent=2))


def _plot(rows, path):
  import matplotlib
  matplotlib.use('Agg')
  import matplotlib.pyplot as plt
  priors = list(dict.fromkeys(r['prior'] for r in rows))
  fig, axes = plt.subplots(len(priors), 2, figsize=(10, 3.6 * len(priors)), squeeze=False)
  for (ax_t, ax_m), prior in zip(axes, priors):
    for form in dict.fromkeys(r['form'] for r in rows if r['prior'] == prior):
      rs = [r for r in rows if r['prior'] == prior and r['form'] == form]
      s = [r['seeds'] for r in rs]
      ax_t.plot(s, [1e3 / r['cand_it_per_s'] for r in rs], 'o-', label=form)
      ax_m.plot(s, [r['peak_rss_mb'] for r in rs], 'o-', label=form)
    ax_t.set(xscale='log', yscale='log', xlabel='candidates (seeds)',
             ylabel='ms per candidate-iteration', title=f'{prior} prior: time')
    ax_m.set(xscale='log', xlabel='candidates (seeds)', ylabel='peak resident memory (MB)',
             title=f'{prior} prior: memory')
    ax_t.legend()
  fig.tight_layout()
  fig.savefig(path, dpi=100)
  plt.close(fig)


if __name__ == '__main__':
  app.run(main)
