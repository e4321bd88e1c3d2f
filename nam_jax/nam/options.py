"""How SR-NAM candidates are optimised: the solver's options, declared once (name, type, help,
allowed values). Free of JAX, so infer.py checks every flag (in about a second) before
JAX starts or any model loads; nam_jax/nam/invert.py and search.py use the options.
"""

from __future__ import annotations

import dataclasses
import math

# Output sizes a prior can render its final candidates at (nam_jax/nam/render.py).
RENDER_SIZES = (64, 128, 256, 512, 1024)
# Below which size (px) a render's content is fitted to the searched candidate (0: the raw render).
RENDER_BANDS = (0, 16, 32, 64)
NOISE_MODES = ('zero', 'sample', 'optimise')
SCHEDULES = ('constant', 'cosine')
STARTS = ('pool', 'random', 'encoder', 'mixed')
ENCODER_STARTS = ('encoder', 'mixed')  # The starts that read the LR-face encoder.


def option(help_text: str = '', choices: tuple = (), default=dataclasses.MISSING):
  """A setting field (of Options here, of nam_jax.nam.settings.Settings); with help_text, also
  a flag of infer.py; choices: its allowed values (check_choices)."""
  return dataclasses.field(default=default,
                           metadata={'help': help_text, 'choices': tuple(choices)})


def check_choices(obj, message: str) -> None:
  """ValueError(message) for the first field of dataclass `obj` whose value is not among its
  declared choices; message is formatted with name, value, choices and known (joined)."""
  for f in dataclasses.fields(obj):
    choices, value = f.metadata.get('choices'), getattr(obj, f.name)
    if choices and value not in choices:
      raise ValueError(message.format(name=f.name, value=value, choices=choices,
                                      known=', '.join(map(str, choices))))


@dataclasses.dataclass(frozen=True)
class Options:
  """How candidates are optimised. Built from a config by nam_jax.nam.settings, the one
  place defaults come from (docs/results.md, "Choosing the inference defaults"). A field with
  a `help` is a command-line flag of infer.py (nam_jax.nam.settings.define_flags)."""

  steps: int = option('Adam iterations per candidate.')
  learning_rate: float = option('Adam learning rate on the latent.')
  b1: float = option()
  b2: float = option()
  # Degradation noise: 'zero', 'sample' (fixed per seed), 'optimise'.
  noise: str = option('Degradation noise (the H2L network\'s noise, the camera\'s parameters).',
                      NOISE_MODES)
  # Project the latent back with prior.project after every step.
  sphere: bool = option('Project the latent back onto the prior\'s sphere each step.')
  # Cheikh Sidiya eq. 9: z <- z + gamma * (mean latent - z) at the end.
  mean_pull: float = option('Pull the latent toward the mean latent at the end.')
  unroll: int = option()     # Iterations unrolled per lax.scan step.
  schedule: str = option('Learning rate over the steps: constant, or cosine decay to a tenth.',
                         SCHEDULES)
  start: str = option('Where candidates start: pool (the closest of start_pool random '
                      'latents of the seed), random (the seed\'s first latent), encoder (the '
                      'closest of start_pool draws around the LR-face encoder\'s prediction, '
                      'with its predicted camera; StyleGAN prior), mixed (a pool of '
                      'random draws and draws around the prediction, alternating; the StyleGAN '
                      'prior\'s default, with encoder_share 0.5).', STARTS)
  start_pool: int = option('Cheap start: each candidate starts from the closest (re-degraded '
                           'LR L1) of this many random latents of its seed; 1 = the first.')
  start_spread: float = option('With --start=encoder: the draws\' spread about the prediction, '
                               'in units of the spread measured on held-out faces (0: every '
                               'candidate starts at the prediction).')
  encoder_share: float = option('With --start=mixed: the share of candidates whose pools hold '
                                'draws around the encoder\'s prediction (spread evenly over the '
                                'seeds; below 1, never the first); the others draw at random '
                                'only. 1 = every candidate.')
  stop_patience: int = option('Stop a candidate whose best LR L1 has not improved by '
                              'stop_tol for this many steps (0 = run every step).')
  stop_tol: float = option('Relative improvement that counts for stop_patience.')
  stop_behind: float = option('Also stop, after stop_patience steps, a candidate whose best '
                              'LR L1 is over this many times its input\'s best (0 = off).')
  noise_prior: float = option('Weight of the degradation\'s prior on its fitted free inputs '
                              '(the camera model: how far real cameras stray from a neutral '
                              'rendering, nam_jax/degradations/camera.py); 0 = free within bounds.',
                              default=0.0)
  colour_anchor: float = option('Weight of an L1 term between the face\'s own colours and the '
                                'input\'s, both averaged over 4x4 cells (low frequencies survive '
                                'any camera); 0 = off.', default=0.0)
  coarse_steps: int = option('The first this many of the steps, and the start pool, render '
                             'through the prior\'s coarse head (a 32 px face, about a third of '
                             'the cost; StyleGAN prior with a coarse head); 0 = every step '
                             'through the full head.', default=0)
  progress: bool = True      # Report each iteration to `watch`ers (after each segment).

  def __post_init__(self):
    check_choices(self, '{name} must be one of {choices}, got {value!r}')
    if self.steps < 1:
      raise ValueError(f'steps must be >= 1, got {self.steps}')
    if not (math.isfinite(self.learning_rate) and self.learning_rate > 0):
      raise ValueError(f'learning_rate must be finite and > 0, got {self.learning_rate}')
    if not 0 <= self.coarse_steps < self.steps:
      raise ValueError(f'coarse_steps must be in [0, steps={self.steps}), got {self.coarse_steps}')
    if self.start_pool < 1:
      raise ValueError(f'start_pool must be >= 1, got {self.start_pool}')
    if self.stop_patience < 0:
      raise ValueError(f'stop_patience must be >= 0, got {self.stop_patience}')
    for name in ('stop_tol', 'stop_behind', 'noise_prior', 'colour_anchor', 'start_spread'):
      value = getattr(self, name)
      if not (math.isfinite(value) and value >= 0):
        raise ValueError(f'{name} must be finite and >= 0, got {value}')
    if not 0.0 <= self.encoder_share <= 1.0:
      raise ValueError(f'encoder_share must be in [0, 1], got {self.encoder_share}')
    if self.stop_behind and self.stop_behind < 1:
      raise ValueError(f'stop_behind must be 0 (off) or >= 1, got {self.stop_behind}')
    if not 1 <= self.unroll <= self.steps:
      raise ValueError(f'unroll must be in [1, steps={self.steps}], got {self.unroll}')
