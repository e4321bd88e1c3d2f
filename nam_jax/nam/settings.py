"""The settings of one SR-NAM inference job: built in one place, from a config plus overrides.

`config.nam` (configs/common.py, specialised by configs/cpu.py and configs/paper.py) is the
one source of defaults. infer.py, the benchmarks and the notebooks all call `from_config`
with whatever the user changed; the library takes the frozen result, never flags.
"""

from __future__ import annotations

import dataclasses
import pathlib
from typing import Any, Mapping

from nam_jax import priors
from nam_jax.nam import auto, invert

# Option names of invert.Options that a config or an override may set.
_SOLVER_KEYS = ('steps', 'learning_rate', 'b1', 'b2', 'noise', 'sphere', 'mean_pull', 'spread',
                'unroll')


@dataclasses.dataclass(frozen=True)
class Settings:
  """Everything an inference job needs besides the networks' weights."""

  options: invert.Options   # How each candidate is optimised.
  seeds: int                # Candidates (random starts) per input face.
  rng_seed: int             # Seed of all random starts: same seed, same outputs.
  max_batch: int            # At most this many candidates per compiled chunk.
  prior: str                # Face prior: a key of nam_jax.priors.PRIORS.
  prior_ckpt: str           # Its exported checkpoint.
  w_plus: bool              # Search one style per modulation (W+) where the prior has them.
  degradation: str          # A key of nam_jax.priors.DEGRADATIONS, or 'auto' (nam/auto.py).
  degradation_ckpt: str
  input: str                # Image file, folder or dataset split (see nam_jax/nam/inputs.py).
  out: str                  # Output folder.
  limit: int                # Use at most this many inputs (0 = all).
  align: bool = False       # Image inputs are photos: find, align and use every face.
  auto_ckpt: str = ''       # degradation='auto': its LR-kind classifier (nam/auto.py).
  size: int = 64            # Output size of the final candidates (nam/render.py).
  rank: str = 'fit'         # Order of an input's candidates (nam/rank.py).
  pick: str = ''            # With align: 'FACE:RANK,...' pasted into the composite (nam/paste.py).
  # degradation='auto': ((name, ((key, value), ...)), ...): what each degradation it chooses
  # from sets differently (nam.prior_options[prior].by_degradation, less what was overridden).
  by_degradation: tuple = ()

  def for_degradation(self, name: str) -> 'Settings':
    """The settings of an input for which `auto` chose `name` (itself when not auto)."""
    if self.degradation != 'auto':
      return self
    changes = dict(dict(self.by_degradation).get(name, ()))
    w_plus = bool(changes.pop('w_plus', self.w_plus))
    return dataclasses.replace(self, degradation=name, w_plus=w_plus, by_degradation=(),
                               options=dataclasses.replace(self.options, **changes))

  def __post_init__(self):
    for name in ('seeds', 'max_batch'):
      if getattr(self, name) < 1:
        raise ValueError(f'{name} must be >= 1, got {getattr(self, name)}')
    if self.limit < 0:
      raise ValueError(f'limit must be >= 0 (0 = all), got {self.limit}')
    from nam_jax.nam import render
    if self.size not in render.SIZES:
      raise ValueError(f'size must be one of {", ".join(map(str, render.SIZES))}, got '
                       f'{self.size}')
    from nam_jax.nam import rank
    if self.rank not in rank.RANKINGS:
      raise ValueError(f'unknown ranking {self.rank!r}; known: {", ".join(rank.RANKINGS)}')
    from nam_jax.nam import paste
    paste.parse_picks(self.pick)
    known = tuple(priors.DEGRADATIONS) + ('auto',)
    if self.degradation not in known:
      raise ValueError(f'unknown degradation {self.degradation!r}; known: {", ".join(known)}')

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
  return Settings(
      options=options,
      seeds=int(values.get('seeds', nam_cfg.seeds)),
      rng_seed=int(values.get('rng_seed', nam_cfg.rng_seed)),
      max_batch=int(values.get('max_batch', nam_cfg.max_batch)),
      prior=prior,
      prior_ckpt=_resolve(values.get('prior_ckpt', nam_cfg.prior_ckpts.get(prior, '')), base),
      w_plus=bool(values.get('w_plus', defaults.get('w_plus', False))),
      degradation=degradation,
      degradation_ckpt=_resolve(values.get('degradation_ckpt', nam_cfg.degradation_ckpt),
                                base),
      input=_resolve(values.get('input', nam_cfg.input), base),
      out=values.get('out', nam_cfg.out),
      limit=int(values.get('limit', nam_cfg.limit)),
      align=bool(values.get('align', nam_cfg.get('align', False))),
      auto_ckpt=_resolve(values.get('auto_ckpt', nam_cfg.get('auto_ckpt', '')), base),
      size=int(values.get('size', nam_cfg.get('size', 64))),
      rank=values.get('rank', nam_cfg.get('rank', 'fit')),
      pick=values.get('pick', nam_cfg.get('pick', '')),
      by_degradation=tuple(
          (name, tuple(sorted((k, v) for k, v in by_degradation.get(name, {}).items()
                              if k not in values)))
          for name in (auto.CHOICES if degradation == 'auto' else ())),
  )


_INTS = ('size', 'steps', 'unroll', 'seeds', 'max_batch', 'rng_seed', 'limit')
_STRINGS = ('pick', 'rank', 'noise', 'prior', 'prior_ckpt', 'degradation', 'degradation_ckpt', 'input', 'out',
            'auto_ckpt')


def parse_overrides(text: str) -> dict[str, Any]:
  """'key=value,key=value' (as the benchmarks' and evaluation's --settings take them) ->
  overrides for from_config, each value typed as its setting is."""
  out: dict[str, Any] = {}
  for item in filter(None, text.split(',')):
    key, sep, value = item.partition('=')
    if not sep:
      raise ValueError(f'setting {item!r} is not key=value')
    try:
      out[key] = (value == 'True' if value in ('True', 'False') else value if key in _STRINGS
                  else int(value) if key in _INTS else float(value))
    except ValueError:
      raise ValueError(f'setting {item!r}: {value!r} is not a '
                       f'{"whole number" if key in _INTS else "number"}') from None
  return out
