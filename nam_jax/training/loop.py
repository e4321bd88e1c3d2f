"""The training machinery both GANs share: progress bar, TensorBoard scalars and images,
periodic checkpoints, exact resume, and a guard against non-finite values.

Metrics stay on the device between log and checkpoint steps: the loop fetches them (one
device sync) only when it logs or is about to save, so the host keeps queueing steps.
Non-finite values persist (a NaN weight stays NaN, and the weight norms are among the
metrics), so checking at those steps still stops a run before a bad state is saved.

In a multi-process job (nam_jax/multihost.py) every process runs the steps and the saves (orbax
writes each checkpoint once); only the first process shows the bar, prints, writes the logs
and draws the images, from a host copy of the state.
"""

from __future__ import annotations

import dataclasses
import json
import math
import pathlib
import time
from typing import Any, Callable, Mapping

import jax
import numpy as np
from tqdm import tqdm

from nam_jax import images, multihost
from nam_jax.training import parallel


def say(message: str) -> None:
  """A progress message on the terminal that does not break the progress bar (from the
  first process only, in a multi-process job)."""
  if multihost.is_primary():
    tqdm.write(message)


class NonFiniteError(FloatingPointError):
  """Raised when a fetched metric is NaN or infinite; the last checkpoint is left intact."""


def check_finite(metrics: dict[str, float], step: int, workdir: pathlib.Path) -> None:
  bad = {k: v for k, v in metrics.items() if not math.isfinite(v)}
  if bad:
    raise NonFiniteError(
        f'training diverged at step {step} (non-finite {", ".join(sorted(bad))}); stopped '
        f'without saving. The checkpoints in {workdir / "checkpoints"} were verified when '
        'loaded, so the optimisation itself blew up: rerun with a lower learning rate')


class Writer:
  """Scalars to TensorBoard and metrics.jsonl; image grids to TensorBoard and PNG files.
  Writes nothing outside the first process of a multi-process job."""

  def __init__(self, workdir: pathlib.Path):
    self.workdir = workdir
    self.active = multihost.is_primary()
    if not self.active:
      return
    from tensorboardX import SummaryWriter
    (workdir / 'images').mkdir(parents=True, exist_ok=True)
    self._tb = SummaryWriter(str(workdir / 'tensorboard'))
    self._jsonl = open(workdir / 'metrics.jsonl', 'a')

  def scalars(self, step: int, values: Mapping[str, float]) -> None:
    if not self.active:
      return
    for k, v in values.items():
      self._tb.add_scalar(k, v, step)
    self._jsonl.write(json.dumps({'step': step, **values}) + '\n')
    self._jsonl.flush()

  def image(self, step: int, name: str, grid: np.ndarray) -> pathlib.Path:
    path = self.workdir / 'images' / f'{name}_{step:07d}.png'
    if not self.active:
      return path
    images.save_png(path, grid)
    self._tb.add_image(name, grid, step, dataformats='HWC')
    return path

  def close(self) -> None:
    if not self.active:
      return
    self._tb.close()
    self._jsonl.close()


@dataclasses.dataclass(frozen=True)
class Plan:
  """Which steps to run, how often to log, draw and save, and what the bar shows."""

  start: int
  stop: int
  log_every: int
  ckpt_every: int
  image_every: int = 0
  total: int | None = None          # Bar length, when this loop is one stage of a longer run.
  desc: str = 'train'
  show: tuple[str, ...] = ()        # Metrics on the progress bar (all are logged).
  deadline: float | None = None     # time.monotonic() after which the loop ends early,
  earliest_stop: int = 0            # but not before this step.

  def final(self, done: int) -> bool:
    """Whether step `done` ends the loop: the last step, or the first one past the deadline."""
    return done == self.stop or (self.deadline is not None and done >= self.earliest_stop
                                 and time.monotonic() >= self.deadline)

  def logs(self, done: int, final: bool = False) -> bool:
    return done % self.log_every == 0 or final

  def draws(self, done: int, final: bool = False) -> bool:
    return bool(self.image_every) and (done % self.image_every == 0 or final)

  def saves(self, done: int, final: bool = False) -> bool:
    return done % self.ckpt_every == 0 or final


@dataclasses.dataclass(frozen=True)
class Hooks:
  """What the loop calls: save(step, state) at checkpoint steps and at the end,
  image(state, step) -> grid at image steps, and finish(step, state) once at the final step,
  before its save (so what it records goes into that checkpoint). In a multi-process job
  image and finish run in the first process only, on a host copy of the state."""

  save: Callable[[int, Any], None]
  image: Callable[[Any, int], np.ndarray] | None = None
  image_name: str = 'samples'
  extra_scalars: Mapping[str, float] = dataclasses.field(default_factory=dict)
  finish: Callable[[int, Any], None] | None = None


def train_loop(state: Any, step_fn: Callable[[Any, int], tuple[Any, dict]], plan: Plan,
               hooks: Hooks, writer: Writer) -> Any:
  """Runs steps [plan.start, plan.stop) of step_fn(state, step) -> (state, device metrics),
  or fewer when plan.deadline passes; returns the state after the last step run."""
  bar = tqdm(total=plan.total or plan.stop, initial=plan.start, desc=plan.desc, unit='step',
             dynamic_ncols=True, disable=not writer.active)
  t0, n0 = time.perf_counter(), plan.start
  try:
    for step in range(plan.start, plan.stop):
      state, metrics = step_fn(state, step)
      done = step + 1
      bar.update(1)
      final = plan.final(done)
      if plan.logs(done, final) or plan.saves(done, final):
        metrics = {k: float(v) for k, v in jax.device_get(metrics).items()}
        check_finite(metrics, step, writer.workdir)
        if plan.logs(done, final):
          metrics['steps_per_sec'] = (done - n0) / max(time.perf_counter() - t0, 1e-9)
          writer.scalars(done, {**metrics, **hooks.extra_scalars})
          shown = [k for k in plan.show if k in metrics] or list(metrics)[:5]
          bar.set_postfix({k: f'{metrics[k]:.3g}' for k in shown + ['steps_per_sec']})
      primary = writer.active
      if hooks.image is not None and plan.draws(done, final):
        if primary:
          writer.image(done, hooks.image_name, hooks.image(parallel.host_copy(state), done))
        multihost.barrier('image drawn')  # The next step's collectives start together.
      if final and hooks.finish is not None:
        if primary:
          hooks.finish(done, parallel.host_copy(state))
        multihost.barrier('finished')  # The save's collectives start together.
      if plan.saves(done, final):
        hooks.save(done, state)
      if final:
        if done < plan.stop:
          say(f'{plan.desc}: wall-time budget reached at step {done} of {plan.stop}')
        break
  finally:
    bar.close()
  return state
