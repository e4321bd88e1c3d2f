"""A job's settings (nam_jax/nam/settings.py): from the config, overrides, each prior's block,
flags derived from the declarations, typed text, bad values."""

import pytest

from configs import test as test_cfg
from nam_jax.nam import settings


NAM_CFG = test_cfg.get_config().nam


def test_settings_come_from_the_config_unless_overridden(ckpts):
  s = settings.from_config(NAM_CFG)
  assert (s.seeds, s.options.steps, s.options.learning_rate) == (
      NAM_CFG.seeds, NAM_CFG.steps, NAM_CFG.learning_rate)
  assert s.prior == NAM_CFG.prior and s.prior_ckpt == NAM_CFG.priors[NAM_CFG.prior].ckpt
  t = settings.from_config(NAM_CFG, {'seeds': 3, 'steps': None, 'noise': 'zero'})
  assert (t.seeds, t.options.steps, t.options.noise) == (3, NAM_CFG.steps, 'zero')
  # Relative paths missing from the working directory are taken from base_dir.
  u = settings.from_config(NAM_CFG, {'prior_ckpt': 'nowhere/ckpt'}, base_dir=ckpts)
  assert u.prior_ckpt == str(ckpts / 'nowhere' / 'ckpt')
  with pytest.raises(ValueError, match="unknown face prior 'made_up'"):
    settings.from_config(NAM_CFG, {'prior': 'made_up'})
  cfg = NAM_CFG.copy_and_resolve_references()
  cfg.priors.mine = {'module': 'somewhere.prior'}
  with pytest.raises(ValueError, match='no default checkpoint'):
    settings.from_config(cfg, {'prior': 'mine'})
  assert settings.from_config(cfg, {'prior': 'mine', 'prior_ckpt': 'x'}).prior_module == (
      'somewhere.prior')
  cfg.priors.mine = {'module': 'somewhere.prior', 'solver': {'w_plus': True}}
  with pytest.raises(ValueError, match=r'nam.priors.mine.solver: not solver options: w_plus'):
    settings.from_config(cfg, {'prior': 'mine'})
  cfg.priors.mine = {'modul': 'somewhere.prior'}
  with pytest.raises(ValueError, match='needs a module.*unknown: modul'):
    settings.from_config(cfg, {'prior': 'mine'})


def test_each_prior_has_its_own_solver_defaults_under_the_overrides():
  cfg = NAM_CFG.copy_and_resolve_references()
  cfg.update(learning_rate=0.5, sphere=False)
  cfg.priors.stylegan.solver = {'learning_rate': 0.03, 'sphere': True}
  cfg.priors.progan.solver = {}
  style = settings.from_config(cfg, {'prior': 'stylegan'})
  assert (style.options.learning_rate, style.options.sphere) == (0.03, True)
  gan = settings.from_config(cfg, {'prior': 'progan'})  # No options of its own: shared ones.
  assert (gan.options.learning_rate, gan.options.sphere) == (0.5, False)
  mine = settings.from_config(cfg, {'prior': 'stylegan', 'learning_rate': 0.2})
  assert (mine.options.learning_rate, mine.options.sphere) == (0.2, True)


def test_a_prior_sets_its_own_output_size_under_the_flag():
  cfg = NAM_CFG.copy_and_resolve_references()
  assert settings.from_config(cfg, {'prior': 'stylegan'}).size == cfg.size == 64
  cfg.priors.stylegan.size = 256
  assert settings.from_config(cfg, {'prior': 'stylegan'}).size == 256
  assert settings.from_config(cfg, {'prior': 'progan'}).size == 64  # The shared value.
  assert settings.from_config(cfg, {'prior': 'stylegan', 'size': '128'}).size == 128
  assert settings.from_config(cfg, {'prior': 'stylegan'}).render_band == 32
  with pytest.raises(ValueError, match='render_band'):
    settings.from_config(cfg, {'prior': 'stylegan', 'render_band': 8})


def test_every_option_is_declared_once_and_flags_and_config_follow():
  """infer.py's flags come from the declarations (type, choices); every flag is a setting
  from_config takes; every key of the config's nam section is a declared option."""
  from absl import flags as absl_flags
  defined = [name for name, _, f in settings._fields()  # pylint: disable=protected-access
             if f.metadata.get('help')]
  fv = absl_flags.FlagValues()
  got = settings.define_flags(_FlagsOn(fv))
  assert list(got) == defined and {'seeds', 'steps', 'size', 'pick', 'prior_options'} <= set(got)
  fv(['prog', '--size=256', '--steps=7', '--prior=stylegan', '--prior_options=w_plus=True',
      '--degradation=camera'])
  s = settings.from_config(NAM_CFG, {k: fv[k].value for k in got})
  assert (s.size, s.options.steps, dict(s.prior_options)['w_plus'], s.degradation) == (
      256, 7, True, 'camera')
  assert isinstance(fv['size'].value, str) and fv['rank'].value is None
  from configs import cpu, paper
  for cfg in (cpu.get_config().nam, paper.get_config().nam, NAM_CFG):
    extra = set(cfg) - set(settings._TYPES) - {'priors', 'degradations'}  # pylint: disable=protected-access
    assert not extra, extra


class _FlagsOn:
  """absl.flags' DEFINE_* functions bound to one FlagValues (the test's own)."""

  def __init__(self, fv):
    from absl import flags as absl_flags
    for name in ('DEFINE_enum', 'DEFINE_bool', 'DEFINE_integer', 'DEFINE_float',
                 'DEFINE_string'):
      fn = getattr(absl_flags, name)
      setattr(self, name, lambda *a, fn=fn, **k: fn(*a, flag_values=fv, **k))


def test_settings_text_is_typed_like_the_settings():
  assert settings.parse_overrides('steps=50,learning_rate=0.03,w_plus=True,noise=zero') == {
      'steps': 50, 'learning_rate': 0.03, 'w_plus': True, 'noise': 'zero'}
  assert settings.parse_overrides('') == {}
  with pytest.raises(ValueError, match='not key=value'):
    settings.parse_overrides('sphere')


@pytest.mark.parametrize('flag, value, message', [
    ('seeds', 0, 'seeds must be >= 1'), ('seeds', -1, 'seeds must be >= 1'),
    ('learning_rate', float('nan'), 'learning_rate must be finite'),
    ('learning_rate', -0.1, 'learning_rate must be finite and > 0'),
    ('steps', 0, 'steps must be >= 1'), ('max_batch', 0, 'max_batch must be >= 1')])
def test_bad_flags_are_rejected_before_anything_runs(job_settings, flag, value, message):
  with pytest.raises(ValueError, match=message):
    job_settings(**{flag: value})
