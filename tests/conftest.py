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
  # The default suite's programs are tiny and run a few times each, so compiling them is most
  # of its time: it compiles with XLA's backend optimisation off (the same programs, without
  # LLVM's passes; values may differ in the last bit). `-m slow` runs whole trainings and keeps
  # the optimisation, as users get it.
  # A setting already in $XLA_FLAGS wins, as in devices.configure_host_cpu.
  if config.getoption('markexpr') == 'not slow':
    flags = os.environ.get('XLA_FLAGS', '')
    new = [f for f in devices.RUN_ONCE_FLAGS if f.split('=')[0] not in flags]
    os.environ['XLA_FLAGS'] = ' '.join([flags, *new]).strip()


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
  from nam_jax.degradations import h2l
  from nam_jax.degrade import train as degrade_train
  from nam_jax.progan import prior
  from nam_jax.progan import train as progan_train
  c = test_cfg.get_config()
  root = tmp_path_factory.mktemp('ckpts')
  d = degrade_train.init_state(c.degrade, jax.random.key(0))
  g = progan_train.init_state(c.progan, jax.random.key(1))
  h2l.export(c.degrade, d.g_params, d.g_stats, root / 'degrade')
  prior.export(c.progan, g.g_ema, root / 'progan')
  return root


@pytest.fixture(scope='session')
def faces():
  """Two 64 px face crops of the astronaut photo and a noisy pattern (uint8 [3, 64, 64, 3])."""
  import numpy as np
  from skimage import data, transform
  crop = data.astronaut()[40:210, 130:300]
  a = (transform.resize(crop, (64, 64), anti_aliasing=True) * 255).astype(np.uint8)
  noise = np.random.RandomState(0).randint(0, 256, (64, 64, 3)).astype(np.uint8)
  return np.stack([a, a[:, ::-1], noise])


@pytest.fixture(scope='session')
def job_settings(ckpts):
  """The one builder of test inference settings: the test config's `nam` section with the
  test-size checkpoints (its h2l block's ckpt: the test H2L network), a short search (4 steps,
  lr 0.05, unrolled by 2, no progress) and the shipped LR-kind classifier for `auto`, then
  `overrides`."""
  from configs import test as test_cfg
  from nam_jax.nam import settings
  repo = pathlib.Path(__file__).resolve().parents[1]

  def make(**overrides):
    values = dict(steps=4, learning_rate=0.05, unroll=2, progress=False,
                  prior_ckpt=str(ckpts / 'progan'))
    values.update(overrides)
    nam = test_cfg.get_config().nam
    nam.degradations.h2l.ckpt = str(ckpts / 'degrade')
    nam.degradations.auto.ckpt = str(repo / 'checkpoints' / 'lr_kind_cpu')
    return settings.from_config(nam, values)

  return make
