"""nam_jax/priors.py and the recipes for adding a face prior and a degradation (docs/design.md),
run as printed."""

import importlib.util
import pathlib
import re
import sys

import numpy as np
import pytest

from nam_jax import priors
from nam_jax.nam import models

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _recipe_files(start: str = '**Adding a face prior.**', end: str = '**Adding a degradation.**'
                  ) -> dict[str, str]:
  """The Python blocks of a section of docs/design.md ("Adding a face prior" by default), by
  the file name each one's first comment gives."""
  text = (ROOT / 'docs' / 'design.md').read_text()
  section = text[text.index(start):text.index(end)]
  blocks = re.findall(r'```python\n(.*?)```', section, re.S)
  return {re.match(r'# (\S+\.py)', b).group(1): b for b in blocks}


def test_a_prior_added_as_the_design_page_says_is_searched(tmp_path, monkeypatch):
  """The page's two files, written out as they are: the config registers the toy prior, its
  own option reaches its loader (by degradation, and from --prior_options text over that),
  and SR-NAM searches it with the LR loss going down."""
  files = _recipe_files()
  assert set(files) == {'my_prior.py', 'my_config.py'}
  for name, body in files.items():
    (tmp_path / name).write_text(body)
  basis = np.random.default_rng(0).normal(0, 0.05, (8, 64 * 64 * 3)).astype(np.float32)
  (tmp_path / 'my_prior_ckpt').mkdir()
  np.save(tmp_path / 'my_prior_ckpt' / 'basis.npy', basis)
  monkeypatch.chdir(tmp_path)  # The block's relative ckpt, as from the user's folder.
  monkeypatch.syspath_prepend(str(tmp_path))
  monkeypatch.syspath_prepend(str(ROOT))  # configs/, as infer.py's folder is on the path.
  spec = importlib.util.spec_from_file_location('my_config', tmp_path / 'my_config.py')
  config_module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(config_module)
  nam_cfg = config_module.get_config().nam

  from nam_jax.nam import models, settings
  run = dict(prior='linear', degradation='bicubic', seeds=2, steps=5, unroll=1, progress=False)
  job = settings.from_config(nam_cfg, run)
  assert (job.prior_module, job.prior_ckpt, job.options.learning_rate) == (
      'my_prior', 'my_prior_ckpt', 0.05)
  assert dict(job.prior_options) == {'scale': 0.5}  # Its by_degradation over its own default.
  assert dict(settings.from_config(nam_cfg, {**run, 'prior_options': 'scale=2'}
                                   ).prior_options) == {'scale': 2.0}
  model = models.load_model(job)
  assert type(model.nets.prior).__name__ == 'LinearPrior' and model.nets.prior.scale == 0.5
  lr = np.asarray(np.random.default_rng(1).integers(0, 256, (1, 16, 16, 3)), np.uint8)
  out = models.super_resolve(model, lr, job)
  assert out['hr'].shape == (1, 2, 64, 64, 3) and out['z'].shape == (1, 2, 8)
  assert np.all(out['history'][..., -1] < out['history'][..., 0])
  sys.modules.pop('my_prior', None)


def test_load_prior_passes_the_own_options_and_records_them(tmp_path, monkeypatch):
  (tmp_path / 'echo_prior.py').write_text(
      'def load(ckpt_dir, **own):\n  return ("model", {"w": 1}, {"ckpt": str(ckpt_dir), **own})\n'
      'def other(ckpt_dir):\n  return ("other", {}, {})\n')
  monkeypatch.syspath_prepend(str(tmp_path))
  loaded = priors.load_prior('echo_prior', 'here', {'b': 2, 'a': 1})
  assert loaded.meta == {'ckpt': 'here', 'a': 1, 'b': 2}
  assert loaded.options == (('a', 1), ('b', 2))
  assert priors.load_prior('echo_prior:other', 'here').model == 'other'
  sys.modules.pop('echo_prior', None)


def test_an_unknown_degradation_is_named(test_config):
  with pytest.raises(ValueError, match="unknown degradation 'blur'; known: area, auto, bicubic"):
    models.load_degradation(test_config.nam, 'blur')


def test_a_degradation_added_as_the_design_page_says_is_searched(tmp_path, monkeypatch):
  """The page's two files: the config block registers the toy degradation, its own option
  reaches its loader, infer's settings take it by name, and SR-NAM fits its free input (the
  exposure) per candidate with the LR loss going down and its penalty applied."""
  files = _recipe_files('**Adding a degradation.**', '**Inference settings**')
  assert set(files) == {'my_degradation.py', 'my_degradation_config.py'}
  for name, body in files.items():
    (tmp_path / name).write_text(body)
  monkeypatch.syspath_prepend(str(tmp_path))
  monkeypatch.syspath_prepend(str(ROOT))
  spec = importlib.util.spec_from_file_location('my_degradation_config',
                                                tmp_path / 'my_degradation_config.py')
  config_module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(config_module)
  nam_cfg = config_module.get_config().nam
  nam_cfg.priors.progan.ckpt = str(ROOT / 'checkpoints' / 'progan_cpu')

  from nam_jax.nam import settings
  run = dict(prior='progan', degradation='dimmed', seeds=2, steps=5, unroll=1,
             progress=False, noise='optimise', noise_prior=0.1,
             degradation_options='darkening=0.5')
  job = settings.from_config(nam_cfg, run)
  assert (job.degradation_module, dict(job.degradation_options)) == (
      'my_degradation', {'darkening': 0.5})
  with pytest.raises(ValueError, match="degradation 'dimmed' has no option gamma"):
    settings.from_config(nam_cfg, {**run, 'degradation_options': 'gamma=2'})
  model = models.load_model(job)
  assert type(model.nets.degradation).__name__ == 'DimmedAverage'
  assert model.nets.degradation.darkening == 0.5
  lr = np.asarray(np.random.default_rng(1).integers(0, 256, (1, 16, 16, 3)), np.uint8)
  out = models.super_resolve(model, lr, job)
  assert out['noise'].shape == (1, 2, 1) and np.all(out['noise'] != 0)
  assert np.all(out['history'][..., -1] < out['history'][..., 0])
  sys.modules.pop('my_degradation', None)
