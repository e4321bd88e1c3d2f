"""Shared fixtures: a private data dir with the tiny synthetic datasets of configs/test.py."""

import os
import pathlib

import pytest



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
