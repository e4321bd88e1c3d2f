"""What every nam_jax command line shares: bad flags, configs and settings end the program with
one line on stderr and exit code 2, before any model is loaded.

  cli.run(main)                 # instead of absl's app.run(main)
  config = cli.config(_CONFIG)  # the parsed config, or exit 2
"""

from __future__ import annotations

import pathlib
import sys
from typing import NoReturn

from absl import app, flags


def fail(message: str) -> NoReturn:
  print(f'error: {message}', file=sys.stderr)
  sys.exit(2)


def one_line(error: BaseException) -> str:
  """An exception's message on one line (config errors span several)."""
  text = str(error.args[0]) if len(error.args) == 1 else str(error)
  text = ' '.join(text.replace('\\n', ' ').replace("\\'", "'").split())
  if len(text) > 1 and text[0] == text[-1] and text[0] in '\'"':  # A quoted repr.
    text = text[1:-1]
  return text or type(error).__name__


def _config_paths(argv: list[str]) -> list[str]:
  """The files named by --config=PATH[:ARGS] / --config PATH in argv."""
  out = []
  for i, arg in enumerate(argv):
    if arg.startswith('--config='):
      out.append(arg.split('=', 1)[1])
    elif arg == '--config' and i + 1 < len(argv):
      out.append(argv[i + 1])
  return [p.split(':', 1)[0] for p in out]


def parse_flags(argv: list[str]) -> list[str]:
  """absl flag parsing with one-line errors: a missing --config file, an unknown or ill-typed
  --config.KEY override, an unknown flag or a bad value."""
  for path in _config_paths(argv):
    if not pathlib.Path(path).is_file():
      fail(f'--config {path}: no such file')
  try:
    return flags.FLAGS(argv)
  except flags.Error as e:
    fail(one_line(e))
  except _CONFIG_ERRORS as e:  # Raised by ml_collections while applying --config overrides.
    fail(f'bad --config or override: {one_line(e)}')


_CONFIG_ERRORS = (AttributeError, KeyError, TypeError, ValueError, OSError, SyntaxError,
                  ImportError)


def define_config(default: str, help_text: str = 'Config file.'):
  """DEFINE_config_file('config', default): ml_collections may load the default and apply
  --config.KEY overrides from sys.argv right here, so a bad override is one line here too."""
  from ml_collections import config_flags
  try:
    return config_flags.DEFINE_config_file('config', default, help_text)
  except _CONFIG_ERRORS as e:
    fail(f'bad --config or override: {one_line(e)}')


def config(flag):
  """The parsed config of a DEFINE_config_file flag; exit 2 with one line if it failed to
  load (ml_collections defers that error to the first attribute read)."""
  try:
    value = flag.value
    value.name  # pylint: disable=pointless-statement
  except _CONFIG_ERRORS as e:
    fail(f'--config: {one_line(e)}')
  return value


def run(main) -> None:
  """app.run with parse_flags: one line and exit 2 for every bad flag."""
  app.run(main, flags_parser=parse_flags)
