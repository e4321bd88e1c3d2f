"""nam_jax.devices: how many XLA CPU devices the entry points ask for."""

import pathlib

import pytest

from nam_jax import devices


@pytest.fixture
def env(monkeypatch):
  monkeypatch.delenv('XLA_FLAGS', raising=False)
  monkeypatch.delenv(devices.ENV, raising=False)
  monkeypatch.delenv(devices.YNNPACK_ENV, raising=False)
  return monkeypatch

YNN_OFF = '--xla_cpu_experimental_ynn_fusion_type='



def test_default_is_one_device_per_usable_core(env):
  import os
  n = devices.configure_host_cpu()
  assert n == devices.usable_cores()
  flags = os.environ.get('XLA_FLAGS', '')
  assert (f'--xla_force_host_platform_device_count={n}' in flags) == (n > 1)


def test_environment_sets_the_count_and_one_turns_the_split_off(env):
  import os
  env.setenv(devices.ENV, '3')
  env.setenv('XLA_FLAGS', '--xla_cpu_enable_fast_math=false')
  assert devices.configure_host_cpu() == 3
  assert os.environ['XLA_FLAGS'] == ('--xla_cpu_enable_fast_math=false ' + YNN_OFF +
                                     ' --xla_force_host_platform_device_count=3')
  env.delenv('XLA_FLAGS')
  env.setenv(devices.ENV, '1')
  assert devices.configure_host_cpu() == 1
  assert os.environ['XLA_FLAGS'] == YNN_OFF


def test_default_count_applies_only_when_the_environment_is_silent(env):
  assert devices.configure_host_cpu(default=1) == 1
  env.delenv('XLA_FLAGS')
  env.setenv(devices.ENV, '2')
  assert devices.configure_host_cpu(default=1) == 2


def test_a_count_already_in_xla_flags_wins(env):
  import os
  env.setenv('XLA_FLAGS', '--xla_force_host_platform_device_count=4')
  env.setenv(devices.ENV, '2')
  assert devices.configure_host_cpu() == 4
  assert devices.configure_host_cpu(8) == 4
  assert os.environ['XLA_FLAGS'] == '--xla_force_host_platform_device_count=4 ' + YNN_OFF


def test_ynnpack_convolutions_are_off_unless_asked_for(env):
  import os
  env.setenv(devices.ENV, '1')
  devices.configure_host_cpu()
  assert os.environ['XLA_FLAGS'] == YNN_OFF
  env.delenv('XLA_FLAGS')
  env.setenv(devices.YNNPACK_ENV, '1')
  devices.configure_host_cpu()
  assert 'XLA_FLAGS' not in os.environ
  env.setenv('XLA_FLAGS', '--xla_cpu_experimental_ynn_fusion_type=LIBRARY_FUSION_TYPE_DOT')
  env.setenv(devices.YNNPACK_ENV, '0')
  devices.configure_host_cpu()  # The user's own setting is kept.
  assert os.environ['XLA_FLAGS'] == (
      '--xla_cpu_experimental_ynn_fusion_type=LIBRARY_FUSION_TYPE_DOT')
  env.delenv('XLA_FLAGS')
  env.delenv(devices.YNNPACK_ENV)
  devices.configure_host_cpu(ynnpack=True)  # A program that runs faster with YNNPACK.
  assert 'XLA_FLAGS' not in os.environ
  env.setenv(devices.YNNPACK_ENV, '0')  # The environment wins.
  devices.configure_host_cpu(ynnpack=True)
  assert os.environ['XLA_FLAGS'] == YNN_OFF
  env.setenv(devices.YNNPACK_ENV, 'yes')
  with pytest.raises(ValueError, match=devices.YNNPACK_ENV):
    devices.configure_host_cpu()


def test_bad_count_is_one_clear_error(env):
  env.setenv(devices.ENV, 'two')
  with pytest.raises(ValueError, match=devices.ENV):
    devices.configure_host_cpu()


SAVE_ON_TWO = '''
import sys, jax, jax.numpy as jnp
from nam_jax import devices, weights
assert len(jax.devices()) == 2
mesh = devices.batch_mesh(2)
tree = {'params': {'w': jnp.arange(6.0).reshape(2, 3), 'b': jnp.ones(3)}}
weights.save(sys.argv[1], {'kind': 'generator'}, jax.device_put(tree, devices.replicated(mesh)))
print('SAVED')
'''


def test_weights_written_by_a_two_device_run_load_on_one_device(tmp_path):
  # A run trained data parallel exports replicated arrays; inference on any host loads them.
  import os
  import subprocess
  import sys

  import jax
  import jax.numpy as jnp
  import numpy as np

  from nam_jax import weights
  env = dict(os.environ, XLA_FLAGS='--xla_force_host_platform_device_count=2',
             JAX_PLATFORMS='cpu')
  proc = subprocess.run([sys.executable, '-c', SAVE_ON_TWO, str(tmp_path / 'export')],
                        capture_output=True, text=True, env=env, timeout=300)
  assert proc.returncode == 0 and 'SAVED' in proc.stdout, proc.stderr[-2000:]
  like = jax.eval_shape(lambda: {'params': {'w': jnp.zeros((2, 3)), 'b': jnp.zeros(3)}})
  tree = weights.restore(tmp_path / 'export', like)
  np.testing.assert_array_equal(np.asarray(tree['params']['w']), np.arange(6.0).reshape(2, 3))
  np.testing.assert_array_equal(np.asarray(tree['params']['b']), np.ones(3))


def test_entry_points_stop_with_one_line_on_a_bad_count(env, capsys):
  env.setenv(devices.ENV, 'two')
  with pytest.raises(SystemExit) as stop:
    devices.configure_host_cpu_or_exit()
  assert stop.value.code == 2
  err = capsys.readouterr().err.strip()
  assert err.count('\n') == 0 and err.startswith('error: ') and devices.ENV in err


CACHED_SEARCH = '''
import json, os, sys, numpy as np, jax
from nam_jax import devices
path = devices.enable_compilation_cache()
jax.config.update('jax_persistent_cache_min_compile_time_secs', 0)  # Tiny test programs.
hits = []
jax.monitoring.register_event_listener(
    lambda name, **kw: hits.append(name) if name.endswith('cache_hits') else None)
from configs import test as test_cfg
from nam_jax.nam import models, settings
s = settings.from_config(test_cfg.get_config().nam, dict(
    steps=2, seeds=2, unroll=1, progress=False,
    prior_ckpt=sys.argv[1] + '/progan', degradation_ckpt=sys.argv[1] + '/degrade'))
out = models.super_resolve(models.load_model(s), np.zeros((1, 16, 16, 3), np.uint8), s)
names = sorted(n.split('-')[0] for n in os.listdir(path))
print('PATH', path, 'HITS', len(hits), 'PROGRAMS', ','.join(n for n in names if 'all' in n))
print('LOSS', json.dumps(out['loss'].tolist(), separators=(',', ':')))
'''


@pytest.mark.slow
def test_second_process_loads_the_search_from_the_persistent_cache(ckpts, tmp_path):
  import os
  import subprocess
  import sys
  env = dict(os.environ, **{devices.CACHE_ENV: str(tmp_path / 'xla')})
  runs = [subprocess.run([sys.executable, '-c', CACHED_SEARCH, str(ckpts)], env=env,
                         capture_output=True, text=True, timeout=600) for _ in range(2)]
  for r in runs:
    assert r.returncode == 0, r.stderr[-2000:]
  first, second = (dict(zip(r.stdout.split()[0::2], r.stdout.split()[1::2])) for r in runs)
  # One folder per CPU fingerprint, under the variable's path.
  assert first['PATH'] == str(tmp_path / 'xla' / devices.cpu_fingerprint())
  assert {'jit_start_all', 'jit_steps_all', 'jit_finish_all'} <= set(
      first['PROGRAMS'].split(','))
  assert int(first['HITS']) == 0 and int(second['HITS']) >= 3  # start, segment, finish.
  assert first['LOSS'] == second['LOSS']  # The loaded programs compute the same.


def test_compilation_cache_is_off_when_the_variable_is_empty(monkeypatch):
  monkeypatch.setenv(devices.CACHE_ENV, '')
  assert devices.enable_compilation_cache() == ''
  fingerprint = devices.cpu_fingerprint()
  assert fingerprint == devices.cpu_fingerprint() and len(fingerprint) == 12


_CACHE_PROBE = '''
import glob, os, sys, warnings
from nam_jax import devices
devices.configure_host_cpu(1)
import jax, jax.numpy as jnp
path = devices.enable_compilation_cache(sys.argv[1])
jax.config.update('jax_persistent_cache_min_compile_time_secs', 0.0)
f = jax.jit(lambda x: jnp.sin(x) * 3 + jnp.cos(x) ** 2)
with warnings.catch_warnings(record=True) as caught:
  warnings.simplefilter('always')
  f(jnp.float32(1.0)).block_until_ready()
print('bad reads', sum('Error reading persistent compilation cache' in str(w.message)
                       for w in caught))
'''


def test_a_bad_compilation_cache_entry_is_replaced_once(tmp_path):
  """A damaged entry warns on the next run, which replaces it; the run after is clean."""
  import subprocess
  import sys
  probe = tmp_path / 'probe.py'
  probe.write_text(_CACHE_PROBE)
  cache = tmp_path / 'cache'
  run = lambda: subprocess.run([sys.executable, str(probe), str(cache)], capture_output=True,
                               text=True, timeout=300, cwd=pathlib.Path(__file__).parents[2])
  first = run()
  assert 'bad reads 0' in first.stdout, first.stderr[-2000:]
  entries = list(cache.glob('*-cache'))
  assert entries
  for e in entries:
    e.write_bytes(b'not an executable')
  assert 'bad reads 0' not in run().stdout       # The damaged entries are read once...
  assert 'bad reads 0' in run().stdout           # ...and replaced.
  assert all(e.read_bytes() != b'not an executable' for e in cache.glob('*-cache'))
