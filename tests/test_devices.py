"""nam_jax.devices: how many XLA CPU devices the entry points ask for."""

import pytest

from nam_jax import devices


@pytest.fixture
def env(monkeypatch):
  monkeypatch.delenv('XLA_FLAGS', raising=False)
  monkeypatch.delenv(devices.ENV, raising=False)
  return monkeypatch


def test_default_is_one_device_per_usable_core(env):
  import os
  n = devices.split_host_cpu()
  assert n == devices.usable_cores()
  flags = os.environ.get('XLA_FLAGS', '')
  assert (f'--xla_force_host_platform_device_count={n}' in flags) == (n > 1)


def test_environment_sets_the_count_and_one_turns_the_split_off(env):
  import os
  env.setenv(devices.ENV, '3')
  env.setenv('XLA_FLAGS', '--xla_cpu_enable_fast_math=false')
  assert devices.split_host_cpu() == 3
  assert os.environ['XLA_FLAGS'] == ('--xla_cpu_enable_fast_math=false '
                                     '--xla_force_host_platform_device_count=3')
  env.delenv('XLA_FLAGS')
  env.setenv(devices.ENV, '1')
  assert devices.split_host_cpu() == 1
  assert 'XLA_FLAGS' not in os.environ


def test_a_count_already_in_xla_flags_wins(env):
  import os
  env.setenv('XLA_FLAGS', '--xla_force_host_platform_device_count=4')
  env.setenv(devices.ENV, '2')
  assert devices.split_host_cpu() == 4
  assert devices.split_host_cpu(8) == 4
  assert os.environ['XLA_FLAGS'] == '--xla_force_host_platform_device_count=4'


def test_bad_count_is_one_clear_error(env):
  env.setenv(devices.ENV, 'two')
  with pytest.raises(ValueError, match=devices.ENV):
    devices.split_host_cpu()
