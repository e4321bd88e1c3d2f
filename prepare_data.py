"""Renders and writes the embedded default face datasets of a config (resumable).

  python prepare_data.py --config=configs/cpu.py [--preview_dir=docs]
"""

from absl import flags, logging

from nam_jax import cli

from nam_jax.data import preview

_CONFIG = cli.define_config('configs/cpu.py')
_PREVIEW = flags.DEFINE_string('preview_dir', '', 'If set, write sample grids (PNG) here.')


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)  # Progress bars and results only.
  from nam_jax.data import datasets
  config = cli.config(_CONFIG)
  datasets.prepare(config.data)
  if _PREVIEW.value:
    for path in preview.write_previews(config.data, _PREVIEW.value):
      print(f'wrote {path}')


if __name__ == '__main__':
  cli.run(main)
