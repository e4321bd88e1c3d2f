"""The settings of one SR-NAM inference job: built in one place, from a config plus overrides.

`config.nam` (configs/common.py, specialised by configs/cpu.py and configs/paper.py) is the
one source of defaults. infer.py, the benchmarks and the notebooks all call `from_config`
with whatever the user changed; the library takes the frozen result, never flags.
"""

from __future__ import annotations

import dataclasses
import pathlib
import typing
from typing import Any, Mapping

from nam_jax import priors
from nam_jax.nam import auto, invert, paste, render
from nam_jax.nam import rank as rank_lib

@dataclasses.dataclass(frozen=True)
class Settings:
  """Everything an inference job needs besides the networks' weights. Every option is declared
  here or in invert.Options, once: its name, type and help; the flags of infer.py
  (define_flags), the typed --settings text (parse_overrides) and the check of a config's
  keys derive from the declaration, and the config's `nam` section gives the defaults."""

  options: invert.Options   # How each candidate is optimised.
  seeds: int = invert.option('Candidates (random starts) per input face.')
  rng_seed: int = invert.option('Seed of all random starts: same seed, same outputs.')
  max_batch: int = invert.option('At most this many candidates per compiled chunk.')
  prior: str = invert.option(
      'Face prior: a key of nam_jax.priors.PRIORS (progan, stylegan, or one registered there).')
  prior_ckpt: str = invert.option('Exported face prior (default: the config\'s).')
  w_plus: bool = invert.option('StyleGAN prior: search W+ (one style per modulation).')
  degradation: str = invert.option(
      'What made the LR input: the learned H2L network, a known operator, the blind camera '
      'model fitted per candidate, or auto (per input, bicubic or the camera).',
      choices=tuple(priors.DEGRADATIONS) + ('auto',))
  degradation_ckpt: str = invert.option('Exported H2L degradation model.')
  input: str = invert.option(
      'Image file, folder, synthetic:test|train, or tfds:wider_face:SPLIT. Default: the bundled '
      'examples/.')
  out: str = invert.option('Output directory.')
  limit: int = invert.option('Use at most this many inputs (0 = all).')
  align: bool = invert.option(
      'Inputs are photos: find every face with dlib, align it as the training faces are, and '
      'write a contact sheet of what was found.', default=False)
  auto_ckpt: str = invert.option(default='')  # degradation='auto': its LR-kind classifier.
  size: int = invert.option(
      'Output size of the final candidates (StyleGAN prior: rendered once through the full '
      'network; the search runs at 64 px).', default=64, choices=render.SIZES)
  rank: str = invert.option(
      'Order of the candidates: fit (lowest LR L1) or blend (LR L1 and the identity most '
      'candidates agree on).', default='fit', choices=rank_lib.RANKINGS)
  pick: str = invert.option(
      'With --align: FACE:RANK,... the candidate (rank from 0, as in cand_RR) pasted back for '
      'each named face (default: the top one).', default='')
  # degradation='auto': ((name, ((key, value), ...)), ...): what each degradation it chooses
  # from sets differently (nam.prior_options[prior].by_degradation, less what was overridden).
  by_degradation: tuple = ()

  def __post_init__(self):
    for name in ('seeds', 'max_batch'):
      if getattr(self, name) < 1:
        raise ValueError(f'{name} must be >= 1, got {getattr(self, name)}')
    if self.limit < 0:
      raise ValueError(f'limit must be >= 0 (0 = all), got {self.limit}')
    invert.check_choices(self, 'unknown {name} {value!r}; known: {known}')
    paste.parse_picks(self.pick)

  def for_degradation(self, name: str) -> 'Settings':
    """The settings of an input for which `auto` chose `name` (itself when not auto)."""
    if self.degradation != 'auto':
      return self
    changes = dict(dict(self.by_degradation).get(name, ()))
    w_plus = bool(changes.pop('w_plus', self.w_plus))
    return dataclasses.replace(self, degradation=name, w_plus=w_plus, by_degradation=(),
                               options=dataclasses.replace(self.options, **changes))

  def record(self) -> dict[str, Any]:
    """A JSON-ready record of the settings (for results.json)."""
    out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
    out.update(dataclasses.asdict(out.pop('options')))
    out['by_degradation'] = {name: dict(items) for name, items in self.by_degradation}
    return out


def _resolve(path: str, base_dir: pathlib.Path | None) -> str:
  """Relative paths that do not exist from the working directory are taken from base_dir
  (the repository, for the shipped checkpoints and examples)."""
  p = pathlib.Path(path)
  if not path or p.is_absolute() or p.exists() or base_dir is None or ':' in path:
    return path
  return str(base_dir / p)


def from_config(nam_cfg, overrides: Mapping[str, Any] | None = None,
                base_dir: str | pathlib.Path | None = None) -> Settings:
  """Settings from `config.nam`, with every non-None override applied.

  Precedence of a solver option (and of w_plus): the override, then
  `nam.prior_options[prior].by_degradation[degradation]`, then `nam.prior_options[prior]`,
  then the shared `nam` value. With degradation 'auto', what each of its choices sets
  differently is kept (Settings.by_degradation, applied by Settings.for_degradation).

  Args:
    nam_cfg: a config's `nam` section.
    overrides: field names of Settings or invert.Options (e.g. from command-line flags);
      None values are ignored. `progress` switches the progress bar and callback.
    base_dir: where relative checkpoint and input paths are found when they do not exist
      from the working directory.
  """
  values = {k: v for k, v in (overrides or {}).items() if v is not None}
  known = set(_SOLVER_KEYS) | {f.name for f in dataclasses.fields(Settings)} | {'progress'}
  unknown = sorted(set(values) - known)
  if unknown:
    raise ValueError(f'unknown inference settings: {", ".join(unknown)}')
  prior = values.get('prior', nam_cfg.prior)
  degradation = values.get('degradation', nam_cfg.degradation)
  # Solver defaults: the prior's own (nam.prior_options), and its own for this degradation,
  # over the shared ones.
  own = dict(nam_cfg.get('prior_options', {}).get(prior, {}))
  by_degradation = {k: dict(v) for k, v in dict(own.pop('by_degradation', {})).items()}
  for name, changes in by_degradation.items():
    unknown = sorted(set(changes) - set(_SOLVER_KEYS) - {'w_plus'})
    if unknown:
      raise ValueError(f'prior_options.{prior}.by_degradation.{name}: not solver options: '
                       f'{", ".join(unknown)}')
  defaults = {**nam_cfg, **own, **by_degradation.get(degradation, {})}
  solver = {k: values.get(k, defaults[k]) for k in _SOLVER_KEYS}
  solver['unroll'] = max(1, min(int(solver['unroll']), int(solver['steps'])))
  options = invert.Options(**solver, progress=values.get('progress', True))
  if prior not in nam_cfg.prior_ckpts and 'prior_ckpt' not in values:
    raise ValueError(f'no default checkpoint for prior {prior!r}: pass --prior_ckpt')
  base = pathlib.Path(base_dir) if base_dir else None
  fixed = {'options': options, 'prior': prior, 'degradation': degradation,
           'prior_ckpt': _resolve(values.get('prior_ckpt', nam_cfg.prior_ckpts.get(prior, '')),
                                  base),
           'w_plus': bool(values.get('w_plus', defaults.get('w_plus', False))),
           'by_degradation': tuple(
               (name, tuple(sorted((k, v) for k, v in by_degradation.get(name, {}).items()
                                   if k not in values)))
               for name in (auto.CHOICES if degradation == 'auto' else ()))}
  rest = {}
  for f in dataclasses.fields(Settings):
    if f.name not in fixed:  # The config's value (or the field's default), or the override.
      value = values.get(f.name, nam_cfg.get(f.name, None if f.default is dataclasses.MISSING
                                             else f.default))
      rest[f.name] = _TYPES[f.name](value)
  for name in _PATHS:
    rest[name] = _resolve(rest[name], base)
  return Settings(**fixed, **rest)


def _fields():
  """(name, type, field) of every option: invert.Options' then Settings'."""
  for cls in (invert.Options, Settings):
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
      if f.name not in ('options', 'by_degradation', 'progress'):
        yield f.name, hints[f.name], f


_SOLVER_KEYS = tuple(f.name for f in dataclasses.fields(invert.Options) if f.name != 'progress')
_TYPES = {name: kind for name, kind, _ in _fields()}
_PATHS = ('degradation_ckpt', 'input', 'auto_ckpt')  # Found from the repository if need be.


def define_flags(flags_module, module_name: str | None = None) -> tuple[str, ...]:
  """Defines one absl flag (default None: the config decides) per option with a help text,
  listed under `module_name` in --help; returns their names, for from_config's overrides."""
  names = []
  for name, kind, f in _fields():
    help_text, choices = f.metadata.get('help'), f.metadata.get('choices')
    if not help_text:
      continue
    if choices:
      flags_module.DEFINE_enum(name, None, [str(c) for c in choices], help_text,
                               module_name=module_name)
    else:
      define = {bool: flags_module.DEFINE_bool, int: flags_module.DEFINE_integer,
                float: flags_module.DEFINE_float, str: flags_module.DEFINE_string}[kind]
      define(name, None, help_text, module_name=module_name)
    names.append(name)
  return tuple(names)


def parse_overrides(text: str) -> dict[str, Any]:
  """'key=value,key=value' (as the benchmarks' and evaluation's --settings take them) ->
  overrides for from_config, each value typed as its setting is."""
  out: dict[str, Any] = {}
  for item in filter(None, text.split(',')):
    key, sep, value = item.partition('=')
    if not sep:
      raise ValueError(f'setting {item!r} is not key=value')
    try:
      kind = _TYPES.get(key, float)
      out[key] = (value == 'True' if value in ('True', 'False') else value if kind is str
                  else int(value) if kind is int else float(value))
    except ValueError:
      raise ValueError(f'setting {item!r}: {value!r} is not a '
                       f'{"whole number" if _TYPES.get(key) is int else "number"}') from None
  return out
