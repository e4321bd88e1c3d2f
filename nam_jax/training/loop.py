"""The training machinery both GANs share: progress bar, TensorBoard scalars and images,
periodic checkpoints, exact resume, and a guard against non-finite values."""

from __future__ import annotations

import json
import math
import pathlib
import time
from typing import Any, Callable

import jax
import numpy as np
from tqdm import tqdm

from nam_jax import images


def say(message: str) -> None:
  """A progress message on the terminal that does not break the progress bar."""
  tqdm.write(message)


class NonFiniteError(FloatingPointError):
  """Raised when a logged value turns NaN or infinite; the last checkpoint is left intact."""


def check_finite(metrics: dict[str, float], step: int, workdir: pathlib.Path) -> None:
  bad = {k: v for k, v in metrics.items() if not math.isfinite(v)}
  if bad:
    raise NonFiniteError(
        f'non-finite values at step {step}: {bad}; stopped without saving, the last good '
        f'checkpoint in {workdir / "checkpoints"} is intact (lower the learning rate?)')


class Writer:
  """Scalars to TensorBoard and metrics.jsonl; image grids to TensorBoard and PNG files."""

  def __init__(self, workdir: pathlib.Path):
    from tensorboardX import SummaryWriter
    self.workdir = workdir
    (workdir / 'images').mkdir(parents=True, exist_ok=True)
    self._tb = SummaryWriter(str(workdir / 'tensorboard'))
    self._jsonl = open(workdir / 'metrics.jsonl', 'a')

  def scalars(self, step: int, values: dict[str, float]) -> None:
    for k, v in values.items():
      self._tb.add_scalar(k, v, step)
    self._jsonl.write(json.dumps({'step': step, **values}) + '\n')
    self._jsonl.flush()

  def image(self, step: int, name: str, grid: np.ndarray) -> pathlib.Path:
    path = self.workdir / 'images' / f'{name}_{step:07d}.png'
    images.save_png(path, grid)
    self._tb.add_image(name, grid, step, dataformats='HWC')
    return path

  def close(self) -> None:
    self._tb.close()
    self._jsonl.close()


def run(*, workdir: pathlib.Path, state: Any, start: int, stop: int,
        step_fn: Callable[[Any, int], tuple[Any, dict]],
        save: Callable[[int, Any], None], writer: Writer,
        log_every: int, ckpt_every: int, image_every: int = 0,
        image_fn: Callable[[Any, int], np.ndarray] | None = None, image_name: str = 'samples',
        total: int | None = None, desc: str = 'train',
        extra_scalars: dict | None = None, show: tuple[str, ...] = ()) -> Any:
  """Runs steps [start, stop) of step_fn(state, step) -> (state, metrics).

  Metrics are checked for finiteness every step; checkpoints are written every `ckpt_every`
  steps and at `stop`. `show` names the metrics on the progress bar (all are logged).
  """
  bar = tqdm(total=total or stop, initial=start, desc=desc, unit='step',
             dynamic_ncols=True)
  t0, n0 = time.perf_counter(), start
  try:
    for step in range(start, stop):
      state, metrics = step_fn(state, step)
      metrics = {k: float(v) for k, v in jax.device_get(metrics).items()}
      check_finite(metrics, step, workdir)
      done = step + 1
      bar.update(1)
      if done % log_every == 0 or done == stop:
        rate = (done - n0) / max(time.perf_counter() - t0, 1e-9)
        metrics['steps_per_sec'] = rate
        writer.scalars(done, {**metrics, **(extra_scalars or {})})
        shown = [k for k in show if k in metrics] or list(metrics)[:5]
        bar.set_postfix({k: f'{metrics[k]:.3g}' for k in shown + ['steps_per_sec']})
      if image_fn is not None and image_every and (done % image_every == 0 or done == stop):
        writer.image(done, image_name, image_fn(state, done))
      if done % ckpt_every == 0 or done == stop:
        save(done, state)
  finally:
    bar.close()
  return state
