"""The sequence every one-phase trainer shares, written once.

A stage (nam_jax/training/stages.py) describes itself as a `Run`: its config section (steps,
log_every, ckpt_every, image_every, keep_ckpts), its initial state, how to build the step
function (only when steps remain: loading VGG16 or jitting costs time a finished run does not
need), what to draw, and what to write at the end (exports, evaluations). `run` then opens the
workdir (resuming from its newest intact checkpoint), trains the remaining steps with the
shared loop (progress bar, TensorBoard, checkpoints, non-finite guard) and finishes. A run
that was already complete only writes again what a kill during its finish left missing.

The Progressive GAN trains in phases (one per resolution) and assembles the same pieces
itself (nam_jax/progan/train.py).
"""

from __future__ import annotations

import dataclasses
import pathlib
from typing import Any, Callable

from nam_jax import multihost
from nam_jax.training import checkpoints, loop, parallel

# finish(workdir, host copy of the final state, redo, writer or None): writes the run's results.
# redo=False after a resume of a finished run: write only what is missing.
Finish = Callable[[pathlib.Path, Any, bool, 'loop.Writer | None'], None]


@dataclasses.dataclass(frozen=True)
class Run:
  name: str                                   # The stage: bar, checkpoint meta, image name.
  cfg: Any                                    # The stage's config section.
  initial: Any                                # The state of a fresh run (placed).
  make_step: Callable[[], Callable[[Any, int], tuple[Any, dict]]]
  finish: Finish
  image: Callable[[Any, int], Any] | None = None  # (host state, step) -> grid.
  show: tuple[str, ...] = ()                  # Metrics on the progress bar.


def run(config, workdir: str | pathlib.Path, r: Run) -> Any:
  """Trains (or resumes) `r` in `workdir` for r.cfg.steps steps and finishes it; returns the
  final state. Finish runs in the first process only, on a host copy of the state."""
  cfg = r.cfg
  workdir, mngr, start, state, _ = checkpoints.open_workdir(config, workdir, r.initial,
                                                            cfg.keep_ckpts, loop.say)
  if start >= cfg.steps:
    loop.say(f'already trained for {start} steps')
    if multihost.is_primary():
      r.finish(workdir, parallel.host_copy(state), False, None)
    return state
  if start:
    loop.say(f'resumed from step {start} in {workdir}')
  step_fn = r.make_step()

  def save(k, state):
    checkpoints.save(mngr, k, state, {'step': k, 'stage': r.name})

  writer = loop.Writer(workdir)
  try:
    plan = loop.Plan(start, cfg.steps, cfg.log_every, cfg.ckpt_every, cfg.image_every,
                     desc=r.name, show=r.show)
    state = loop.train_loop(state, step_fn, plan, loop.Hooks(save, r.image, r.name), writer)
    if multihost.is_primary():
      r.finish(workdir, parallel.host_copy(state), True, writer)
  finally:
    writer.close()
  return state
