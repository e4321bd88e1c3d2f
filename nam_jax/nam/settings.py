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

from nam_jax.nam import options, paste
from nam_jax.nam import rank as rank_lib
from nam_jax.nam import sizes

@dataclasses.dataclass(frozen=True)
class Settings:
  """Everything an inference job needs besides the networks' weights. Every option is declared
  here or in options.Options, once: its name, type and help; the flags of infer.py
  (define_flags), the typed --settings text (parse_overrides) and the check of a config's
  keys derive from the declaration, and the config's `nam` section gives the defaults."""

  options: options.Options   # How each candidate is optimised.
  seeds: int = options.option('Candidates (random starts) per input face.')
  rng_seed: int = options.option('Seed of all random starts: same seed, same outputs.')
  max_batch: int = options.option('At most this many candidates per compiled chunk.')
  prior: str = options.option(
      'Face prior: a block of the config\'s nam.priors (progan, stylegan, or one added there).')
  prior_ckpt: str = options.option('Exported face prior (default: its block\'s ckpt).')
  degradation: str = options.option(
      'What made the LR input: a block of the config\'s nam.degradations (h2l: the learned '
      'network, bicubic|bilinear|area: known operators, camera: the blind camera model fitted '
      'per candidate, auto: per input, bicubic or the camera).')
  input: str = options.option(
      'Image file, folder, synthetic:test|train, or tfds:wider_face:SPLIT. Default: the bundled '
      'examples/.')
  out: str = options.option('Output directory.')
  limit: int = options.option('Use at most this many inputs (0 = all).')
  degradation_ckpt: str = options.option(
      'Exported degradation (default: its block\'s ckpt; auto: its classifier).', default='')
  degradation_options: tuple = options.option(
      'The degradation\'s own options, key=value,... (the keys of its block\'s `own`).',
      default=())
  degradation_module: str = options.option(default='')  # Its block's module (its loader).
  # A degradation that picks one per input (a block with `choices`, auto): for each choice,
  # (name, module, ckpt, own options as pairs).
  choices: tuple = ()
  prior_options: tuple = options.option(
      'The face prior\'s own options, key=value,... (the keys of its block\'s `own`).',
      default=())
  prior_module: str = options.option(default='')  # Its block's module (priors.load_prior).
  encoder_ckpt: str = options.option(
      'With --start=encoder: the face prior\'s LR-face encoder (default: its block\'s '
      'encoder_ckpt).', default='')
  ynnpack: bool = options.option(default=False)  # Its block's XLA preference (nam_jax.devices).
  align: bool = options.option(
      'Inputs are photos: find every face with dlib, align it as the training faces are, and '
      'write a contact sheet of what was found.', default=False)
  lr_size: int = options.option(
      'Size each input face is searched at: 0 = its own (its smaller side rounded down to 8, '
      '12, 16, 24, 32, 48 or 64 px; larger faces as their 64 px version), else this size for '
      'every input (16: the paper\'s).', default=0)
  size: int = options.option(
      'Output size of the final candidates (StyleGAN prior: rendered once through the full '
      'network and fitted to the input as the searched 64 px candidate is; default: the '
      'prior block\'s `size`, else the config\'s: 64; ProGAN renders 64 only).', default=64,
      choices=options.RENDER_SIZES)
  render_band: int = options.option(
      'With --size > 64: the render\'s content below this many px is the searched '
      'candidate\'s (its fit to the input), the detail above it the full network\'s; 0 keeps '
      'the raw render.', default=32, choices=options.RENDER_BANDS)
  rank: str = options.option(
      'Order of the candidates: input (LR L1 and how far each moved the input\'s skin tone), '
      'fit (lowest LR L1) or blend (LR L1 and the identity most candidates agree on).',
      default='fit', choices=rank_lib.RANKINGS)
  pick: str = options.option(
      'With --align: FACE:RANK,... the candidate (rank from 0, as in cand_RR) pasted back for '
      'each named face (default: the top one).', default='')
  # degradation='auto': ((name, ((key, value), ...)), ...): what each degradation it chooses
  # from sets differently (nam.priors[prior].by_degradation, less what was overridden): solver
  # options, and the prior's own options.
  by_degradation: tuple = ()

  def __post_init__(self):
    for name in ('seeds', 'max_batch'):
      if getattr(self, name) < 1:
        raise ValueError(f'{name} must be >= 1, got {getattr(self, name)}')
    if self.limit < 0:
      raise ValueError(f'limit must be >= 0 (0 = all), got {self.limit}')
    options.check_choices(self, 'unknown {name} {value!r}; known: {known}')
    paste.parse_picks(self.pick)
    sizes.check_lr_size(self.lr_size)

  @property
  def chooses(self) -> bool:
    """Whether the degradation picks one of its `choices` per input (auto)."""
    return bool(self.choices)

  def for_degradation(self, name: str) -> 'Settings':
    """The settings of an input for which the choosing degradation chose `name` (itself
    when it does not choose)."""
    if not self.chooses:
      return self
    _, module, ckpt, deg_own = {c[0]: c for c in self.choices}[name]
    changes = dict(dict(self.by_degradation).get(name, ()))
    own = dict(self.prior_options)
    own.update({k: changes.pop(k) for k in list(changes) if k in own})
    return dataclasses.replace(self, degradation=name, prior_options=tuple(sorted(own.items())),
                               degradation_module=module, degradation_ckpt=ckpt,
                               degradation_options=deg_own, choices=(), by_degradation=(),
                               options=dataclasses.replace(self.options, **changes))

  def record(self) -> dict[str, Any]:
    """A JSON-ready record of the settings (for results.json)."""
    out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
    out.update(dataclasses.asdict(out.pop('options')))
    out['prior_options'] = dict(self.prior_options)
    out['degradation_options'] = dict(self.degradation_options)
    out['choices'] = [name for name, *_ in self.choices]
    out['by_degradation'] = {name: dict(items) for name, items in self.by_degradation}
    return out


def resolve_path(path: str, base_dir: pathlib.Path | None) -> str:
  """Relative paths that do not exist from the working directory are taken from base_dir
  (the repository, for the shipped checkpoints and examples)."""
  p = pathlib.Path(path)
  if not path or p.is_absolute() or p.exists() or base_dir is None or ':' in path:
    return path
  return str(base_dir / p)


def prior_block(nam_cfg, name: str) -> dict[str, Any]:
  """The config block of face prior `name` (nam.priors.NAME) with every part present: module,
  ckpt, ynnpack, solver (its solver defaults over the shared ones), own (its own options and
  their defaults) and by_degradation (per degradation: solver or own options over those)."""
  block = _block(nam_cfg, 'priors', 'face prior', name, _BLOCK_KEYS)
  out = {'module': block['module'], 'ckpt': block.get('ckpt', ''),
         'encoder_ckpt': block.get('encoder_ckpt', ''), 'size': block.get('size', None),
         'ynnpack': bool(block.get('ynnpack', False)),
         'solver': dict(block.get('solver', {})), 'own': dict(block.get('own', {})),
         'by_degradation': {k: dict(v) for k, v in dict(block.get('by_degradation', {})).items()}}
  for part, changes in [('solver', out['solver'])] + [
      (f'by_degradation.{k}', v) for k, v in out['by_degradation'].items()]:
    allowed = set(_SOLVER_KEYS) | (set(out['own']) if part != 'solver' else set())
    unknown = sorted(set(changes) - allowed)
    if unknown:
      raise ValueError(f'nam.priors.{name}.{part}: not solver options'
                       f'{"" if part == "solver" else " or own options"}: {", ".join(unknown)}')
  return out


def _block(nam_cfg, section: str, what: str, name: str, keys: tuple) -> dict[str, Any]:
  """Block `name` of the config's nam.SECTION (a face prior's or a degradation's), checked:
  it exists, has a module and no key outside `keys`."""
  blocks = nam_cfg.get(section, {})
  if name not in blocks:
    raise ValueError(f'unknown {what} {name!r}; known: {", ".join(sorted(blocks))} '
                     f'(the config\'s nam.{section})')
  block = dict(blocks[name])
  unknown = sorted(set(block) - set(keys))
  if unknown or 'module' not in block:
    raise ValueError(f'nam.{section}.{name}: needs a module; known keys: {", ".join(keys)}'
                     + (f'; unknown: {", ".join(unknown)}' if unknown else ''))
  return block


def degradation_block(nam_cfg, name: str) -> dict[str, Any]:
  """The config block of degradation `name` (nam.degradations.NAME) with every part
  present: module, ckpt ('' = none), own (its own options and their defaults) and choices
  (() unless it picks one of those degradations per input, as auto does)."""
  block = _block(nam_cfg, 'degradations', 'degradation', name, _DEGRADATION_KEYS)
  out = {'module': block['module'], 'ckpt': block.get('ckpt', ''),
         'own': dict(block.get('own', {})), 'choices': tuple(block.get('choices', ()))}
  if out['choices'] and len(out['choices']) != 2:
    raise ValueError(f'nam.degradations.{name}.choices: a (simple, general) pair, got '
                     f'{out["choices"]}')
  for choice in out['choices']:
    if degradation_block(nam_cfg, choice)['choices']:
      raise ValueError(f'nam.degradations.{name}.choices: {choice!r} chooses too')
  return out


def _typed(key: str, value, like):
  """`value` (maybe text) as the type of `like`, a default of the same option."""
  if isinstance(like, bool):
    if isinstance(value, str) and value not in ('True', 'False', 'true', 'false', '1', '0'):
      raise ValueError(f'option {key}: {value!r} is not True or False')
    return value in ('True', 'true', '1') if isinstance(value, str) else bool(value)
  try:
    return type(like)(value)
  except (TypeError, ValueError):
    raise ValueError(f'option {key}: {value!r} is not a {type(like).__name__}') from None


def _pairs(given) -> dict[str, Any]:
  """'key=value,...' text, a mapping or (key, value) pairs -> a dict (values as given)."""
  if isinstance(given, str):
    items = [item.partition('=') for item in filter(None, given.split(','))]
    bad = [k for k, sep, _ in items if not sep]
    if bad:
      raise ValueError(f'prior option {bad[0]!r} is not key=value')
    return {k: v for k, _, v in items}
  return dict(given or {})


def _encoder_for_start(path: str, start: str, prior: str, base) -> str:
  """The LR-face encoder checkpoint a job loads: only for start=encoder or mixed ('' otherwise),
  found from `base` like the shipped checkpoints."""
  if start not in options.ENCODER_STARTS:
    return ''
  if not path:
    raise ValueError(f'start={start}: face prior {prior!r} has no LR-face encoder (its block '
                     'has no encoder_ckpt; pass --encoder_ckpt)')
  return resolve_path(path, base)


def own_options(block: dict[str, Any], name: str, given, what: str = 'face prior'
                ) -> dict[str, Any]:
  """A face prior's (or degradation's) own options, typed as their defaults, over its
  block's defaults; `given`: 'key=value,...' text, a mapping or pairs."""
  given = _pairs(given)
  unknown = sorted(set(given) - set(block['own']))
  if unknown:
    raise ValueError(f'{what} {name!r} has no option {", ".join(unknown)}; its own: '
                     f'{", ".join(sorted(block["own"])) or "none"}')
  return {k: _typed(k, given.get(k, v), v) for k, v in block['own'].items()}


def from_config(nam_cfg, overrides: Mapping[str, Any] | None = None,
                base_dir: str | pathlib.Path | None = None) -> Settings:
  """Settings from `config.nam`, with every non-None override applied.

  Precedence of a solver option (and of the prior's own options): the override, then
  `nam.priors[prior].by_degradation[degradation]`, then `nam.priors[prior].solver` (own:
  `.own`), then the shared `nam` value. With degradation 'auto', what each of its choices
  sets differently is kept (Settings.by_degradation, applied by Settings.for_degradation).

  Args:
    nam_cfg: a config's `nam` section.
    overrides: field names of Settings or options.Options (e.g. from command-line flags), or
      own options of the chosen prior (merged into prior_options); None values are ignored.
      `progress` switches the progress bar and callback.
    base_dir: where relative checkpoint and input paths are found when they do not exist
      from the working directory.
  """
  values = {k: v for k, v in (overrides or {}).items() if v is not None}
  prior = values.get('prior', nam_cfg.prior)
  block = prior_block(nam_cfg, prior)
  known = set(_SOLVER_KEYS) | {f.name for f in dataclasses.fields(Settings)} | {'progress'}
  unknown = sorted(set(values) - known - set(block['own']))
  if unknown:
    raise ValueError(f'unknown inference settings: {", ".join(unknown)} (face prior {prior!r} '
                     f'takes: {", ".join(sorted(block["own"])) or "none"})')
  # The prior's own options the user set: --prior_options text, or top-level override keys.
  explicit = {**_pairs(values.get('prior_options', ())),
              **{k: values[k] for k in block['own'] if k in values}}
  degradation = values.get('degradation', nam_cfg.degradation)
  deg_block = degradation_block(nam_cfg, degradation)
  deg_own = own_options(deg_block, degradation, values.get('degradation_options', ()),
                        'degradation')
  by_degradation = block['by_degradation']
  changes = by_degradation.get(degradation, {})
  defaults = {**nam_cfg, **block['solver'],
              **{k: v for k, v in changes.items() if k in _SOLVER_KEYS}}
  solver = {k: values.get(k, defaults[k]) for k in _SOLVER_KEYS}
  solver['unroll'] = max(1, min(int(solver['unroll']), int(solver['steps'])))
  solver_options = options.Options(**solver, progress=values.get('progress', True))
  own = own_options(block, prior, {**{k: v for k, v in changes.items() if k in block['own']},
                                   **explicit})
  if not block['ckpt'] and 'prior_ckpt' not in values:
    raise ValueError(f'no default checkpoint for prior {prior!r}: pass --prior_ckpt')
  base = pathlib.Path(base_dir) if base_dir else None
  choices = []
  for name in deg_block['choices']:
    sub = degradation_block(nam_cfg, name)
    choices.append((name, sub['module'], resolve_path(sub['ckpt'], base),
                    tuple(sorted(own_options(sub, name, (), 'degradation').items()))))
  fixed = {'options': solver_options, 'prior': prior, 'degradation': degradation,
           'prior_ckpt': resolve_path(values.get('prior_ckpt', block['ckpt']), base),
           'prior_module': block['module'], 'ynnpack': block['ynnpack'],
           'size': int(values.get('size', block['size'] or nam_cfg.get('size', 64))),
           'encoder_ckpt': _encoder_for_start(values.get('encoder_ckpt') or block['encoder_ckpt'],
                                              solver_options.start, prior, base),
           'prior_options': tuple(sorted(own.items())),
           'degradation_ckpt': resolve_path(values.get('degradation_ckpt') or deg_block['ckpt'],
                                        base),
           'degradation_module': deg_block['module'],
           'degradation_options': tuple(sorted(deg_own.items())), 'choices': tuple(choices),
           'by_degradation': tuple(
               (name, tuple(sorted((k, v) for k, v in by_degradation.get(name, {}).items()
                                   if k not in values and k not in explicit)))
               for name in deg_block['choices'])}
  rest = {}
  for f in dataclasses.fields(Settings):
    if f.name not in fixed:  # The config's value (or the field's default), or the override.
      value = values.get(f.name, nam_cfg.get(f.name, None if f.default is dataclasses.MISSING
                                             else f.default))
      rest[f.name] = _TYPES[f.name](value)
  for name in _PATHS:
    rest[name] = resolve_path(rest[name], base)
  return Settings(**fixed, **rest)


def _fields():
  """(name, type, field) of every option: options.Options' then Settings'."""
  for cls in (options.Options, Settings):
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
      if f.name not in ('options', 'by_degradation', 'progress', 'choices'):
        yield f.name, hints[f.name], f


_SOLVER_KEYS = tuple(f.name for f in dataclasses.fields(options.Options) if f.name != 'progress')
_TYPES = {name: kind for name, kind, _ in _fields()}
_PATHS = ('input',)  # Found from the repository if need be.
_BLOCK_KEYS = ('module', 'ckpt', 'encoder_ckpt', 'ynnpack', 'size', 'solver', 'own',
               'by_degradation')
_DEGRADATION_KEYS = ('module', 'ckpt', 'own', 'choices')


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
                float: flags_module.DEFINE_float, str: flags_module.DEFINE_string,
                tuple: flags_module.DEFINE_string}[kind]  # A tuple option: key=value text.
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
