"""Shared fixtures: a private data dir with the tiny synthetic datasets of configs/test.py."""

import os
import pathlib

import pytest

from nam_jax import devices

# The entry points' XLA set-up (XLA's own convolutions), on one device: tests that compare
# device counts start their own processes.
devices.configure_host_cpu(1)

# Many tests train, stop and resume: each train() jits its step anew. A compilation cache
# private to this session lets the repeats reuse the first compilation.
import tempfile  # noqa: E402  (after the XLA set-up above)

_XLA_CACHE = devices.enable_compilation_cache(tempfile.mkdtemp(prefix='nam_jax_tests_xla_'))
os.environ[devices.CACHE_ENV] = _XLA_CACHE  # infer.py / evaluate.py subprocesses share it.


def pytest_configure(config):
  config.addinivalue_line('markers', 'slow: longer tests, run with `pytest -m slow`')


@pytest.fixture(scope='session')
def data_root(tmp_path_factory) -> pathlib.Path:
  """$NAM_JAX_DATA for the whole test session: never the user's real cache."""
  root = tmp_path_factory.mktemp('nam_jax_data')
  os.environ['NAM_JAX_DATA'] = str(root)
  return root


@pytest.fixture(scope='session')
def test_config(data_root):
  """configs/test.py with its tiny synthetic datasets rendered and written."""
  from configs import test as test_cfg
  from nam_jax.data import datasets
  config = test_cfg.get_config()
  datasets.prepare(config.data)
  return config


@pytest.fixture(scope='session')
def ckpts(tmp_path_factory):
  """Exported test-size networks (random weights: inference cost and logic only)."""
  import jax
  from configs import test as test_cfg
  from nam_jax.degrade import degradation
  from nam_jax.degrade import train as degrade_train
  from nam_jax.progan import prior
  from nam_jax.progan import train as progan_train
  c = test_cfg.get_config()
  root = tmp_path_factory.mktemp('ckpts')
  d = degrade_train.init_state(c.degrade, jax.random.key(0))
  g = progan_train.init_state(c.progan, jax.random.key(1))
  degradation.export(c.degrade, d.g_params, d.g_stats, root / 'degrade')
  prior.export(c.progan, g.g_ema, root / 'progan')
  return root
