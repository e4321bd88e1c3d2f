"""What `python train.py --stage=NAME` can train: one table entry per stage.

Every entry names the module whose `train(config, workdir, **arguments)` trains (or resumes)
it in `workdir` and exports what inference loads; a new stage is one entry here. Imported by
train.py before JAX starts (a plain table: the module is imported only when its stage runs).
"""

from __future__ import annotations

import dataclasses
import importlib


@dataclasses.dataclass(frozen=True)
class Stage:
  module: str                # Holds train(config, workdir, **arguments).
  help: str                  # One line for --help.
  arguments: tuple = ()      # (key, value) pairs passed to train.
  multi_process: bool = True  # Trains data parallel across processes (nam_jax/multihost.py).

  def train(self, config, workdir):
    """Runs the stage's trainer; returns what it returns (its final state)."""
    return importlib.import_module(self.module).train(config, workdir, **dict(self.arguments))


STAGES = {
    'degrade': Stage('nam_jax.degrade.train', 'the High-to-Low degradation GAN'),
    'progan': Stage('nam_jax.progan.train', 'the Progressive GAN face generator'),
    'stylegan_head': Stage('nam_jax.stylegan.train_head',
                           'the 64 px head distilled from MobileStyleGAN'),
    'stylegan_coarse': Stage('nam_jax.stylegan.train_coarse', 'the coarse head of the '
                             'search\'s first steps, distilled from the 64 px head',
                             multi_process=False),
    'l2h': Stage('nam_jax.baselines.train', 'the Low-to-High baseline (Bulat et al.)',
                 (('network', 'l2h'),), multi_process=False),
    'urdgn': Stage('nam_jax.baselines.train', 'the URDGN baseline',
                   (('network', 'urdgn'),), multi_process=False),
    'encoder': Stage('nam_jax.stylegan.train_encoder', 'the LR-face encoder that starts the '
                     'StyleGAN search', multi_process=False),
    'lr_kind': Stage('nam_jax.degrade.lr_kind', 'the LR-kind classifier behind '
                     '--degradation=auto', multi_process=False),
}
