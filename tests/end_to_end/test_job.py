"""One inference job (nam_jax/nam/job.py): inputs, checkpoints and --out checked before any
compute, results replaced whole, diverged candidates, unusable paths."""

import json
import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from nam_jax.nam import job, models


ROOT = pathlib.Path(__file__).resolve().parents[2]


def _run(job_settings, config, capsys, **overrides) -> tuple[int, str]:
  values = dict(seeds=2, steps=3, max_batch=8, unroll=1)
  values.update(overrides)
  code = job.super_resolve_job(job_settings(**values), config.data)
  return code, capsys.readouterr().err.strip()


def test_infer_folder_with_bad_files_processes_the_rest(job_settings, tmp_path, test_config,
                                                        capsys):
  inp = tmp_path / 'in'
  inp.mkdir()
  rng = np.random.default_rng(0)
  Image.fromarray(rng.integers(0, 255, (40, 50, 3), dtype=np.uint8)).save(inp / 'rgb.png')
  Image.fromarray(rng.integers(0, 255, (20, 20), dtype=np.uint8)).save(inp / 'gray.png')
  Image.fromarray(rng.integers(0, 255, (30, 30, 4), dtype=np.uint8)).save(inp / 'rgba.png')
  Image.fromarray(rng.integers(0, 65535, (32, 32), dtype=np.uint16)).save(inp / 'deep.png')
  Image.fromarray(rng.integers(0, 255, (6, 6, 3), dtype=np.uint8)).save(inp / 'tiny.png')
  (inp / 'notes.txt').write_text('hello')
  (inp / 'broken.jpg').write_bytes(b'\xff\xd8\xff\xe0' + b'\x00' * 50)
  out = tmp_path / 'out'
  code, err = _run(job_settings, test_config, capsys, input=str(inp), out=str(out))
  assert code == 0
  results = json.loads((out / 'results.json').read_text())
  assert [e['name'] for e in results['inputs']] == ['deep', 'gray', 'rgb', 'rgba']
  assert len(results['skipped']) == 3
  for name in ('tiny.png', 'notes.txt', 'broken.jpg'):
    assert name in err
  entry = results['inputs'][0]
  losses = [c['lr_l1'] for c in entry['candidates']]
  assert losses == sorted(losses) and len(losses) == 2
  for c in entry['candidates']:
    im = np.asarray(Image.open(out / c['hr_path']))
    assert im.shape == (64, 64, 3)
  assert (out / entry['grid']).is_file()


def test_missing_and_mismatched_checkpoints_are_one_line_errors(job_settings, ckpts, tmp_path,
                                                                test_config, capsys):
  code, err = _run(job_settings, test_config, capsys, prior_ckpt=str(tmp_path / 'nope'),
                   out=str(tmp_path / 'out'))
  assert code == 2 and err.count('\n') == 0 and 'checkpoint directory not found' in err
  # Swapped: a degrader where the generator should be.
  code, err = _run(job_settings, test_config, capsys, prior_ckpt=str(ckpts / 'degrade'),
                   out=str(tmp_path / 'out'))
  assert code == 2 and "expected a 'generator'" in err
  # Weights that do not fit their model.json.
  bad = tmp_path / 'bad'
  shutil.copytree(ckpts / 'progan', bad)
  meta = json.loads((bad / 'model.json').read_text())
  meta['widths'] = [w * 2 for w in meta['widths']]
  (bad / 'model.json').write_text(json.dumps(meta))
  code, err = _run(job_settings, test_config, capsys, prior_ckpt=str(bad),
                   out=str(tmp_path / 'out'))
  assert code == 2 and err.count('\n') == 0 and 'do not match model.json' in err


def test_infer_cli_bad_seeds_is_one_line(tmp_path):
  proc = subprocess.run([sys.executable, 'infer.py', '--seeds=-1', f'--out={tmp_path / "o"}'],
                        cwd=ROOT, capture_output=True, text=True, timeout=300,
                        env=dict(os.environ, JAX_PLATFORMS='cpu'))
  assert proc.returncode == 2 and proc.stderr.strip() == 'error: seeds must be >= 1, got -1'
  assert not (tmp_path / 'o').exists()


@pytest.fixture
def no_compute(monkeypatch):
  def fail(*args, **kwargs):
    raise AssertionError('computed although --out was unusable')
  monkeypatch.setattr(models, 'super_resolve', fail)
  monkeypatch.setattr(models, 'load_model', fail)


def test_unusable_out_is_refused_before_any_compute(job_settings, tmp_path, test_config, capsys,
                                                    no_compute):
  afile = tmp_path / 'results.txt'
  afile.write_text('mine')
  code, err = _run(job_settings, test_config, capsys, out=str(afile))
  assert code == 2 and 'is a file' in err and afile.read_text() == 'mine'
  others = tmp_path / 'photos'
  others.mkdir()
  (others / 'keep.jpg').write_text('mine')
  code, err = _run(job_settings, test_config, capsys, out=str(others))
  assert code == 2 and 'other files' in err and (others / 'keep.jpg').read_text() == 'mine'


def test_unwritable_out_is_refused_before_any_compute(job_settings, tmp_path, test_config, capsys,
                                                     no_compute):
  (tmp_path / 'afile').write_text('mine')  # A place no folder can be made in, even as root.
  code, err = _run(job_settings, test_config, capsys, out=str(tmp_path / 'afile' / 'out'))
  assert code == 2 and 'cannot create its parent folder' in err and err.count('\n') == 0


def test_rerun_replaces_old_results_as_a_whole_and_a_crash_keeps_them(
    job_settings, tmp_path, test_config, capsys, monkeypatch):
  out = tmp_path / 'out'
  assert _run(job_settings, test_config, capsys, input='examples', limit=2, out=str(out))[0] == 0
  first = json.loads((out / 'results.json').read_text())
  assert len(first['inputs']) == 2
  # A second run with one input: no file of the first run's second input is left.
  assert _run(job_settings, test_config, capsys, input='examples', limit=1, out=str(out))[0] == 0
  second = json.loads((out / 'results.json').read_text())
  assert [p.name for p in out.iterdir() if p.is_dir()] == [second['inputs'][0]['name']]
  # A crash in the middle of the next run: the previous results stay whole.
  before = sorted(str(p.relative_to(out)) for p in out.rglob('*'))

  def crash(*args, **kwargs):
    raise KeyboardInterrupt('killed')

  monkeypatch.setattr(models, 'super_resolve', crash)
  with pytest.raises(KeyboardInterrupt):
    _run(job_settings, test_config, capsys, input='examples', limit=2, out=str(out))
  assert sorted(str(p.relative_to(out)) for p in out.rglob('*')) == before
  assert not list(tmp_path.glob('.out.*'))  # No staging folder left behind.


def _strict(text: str):
  def refuse(name):
    raise ValueError(f'non-strict JSON constant {name}')
  return json.loads(text, parse_constant=refuse)


def test_diverged_candidates_are_reported_and_all_diverged_fails(job_settings, tmp_path,
                                                                 test_config, capsys,
                                                                 monkeypatch):
  real = models.super_resolve

  def some_nan(model, lr_images, settings, **kw):
    out = real(model, lr_images, settings, **kw)
    out['hr'][0, 1] = np.nan
    out['loss'][0, 1] = np.nan
    return out

  monkeypatch.setattr(models, 'super_resolve', some_nan)
  out = tmp_path / 'out'
  code, err = _run(job_settings, test_config, capsys, input='examples', limit=1, out=str(out))
  assert code == 0 and 'diverged:' in err and 'seed 1' in err
  results = _strict((out / 'results.json').read_text())
  cands = results['inputs'][0]['candidates']
  assert results['diverged'] == 1
  assert [c['diverged'] for c in cands] == [False, True]
  assert cands[1]['lr_l1'] is None and cands[1]['hr_path'] is None
  before = (out / 'results.json').read_text()

  def all_nan(model, lr_images, settings, **kw):
    out = real(model, lr_images, settings, **kw)
    out['loss'][:] = np.nan
    return out

  monkeypatch.setattr(models, 'super_resolve', all_nan)
  code, err = _run(job_settings, test_config, capsys, input='examples', limit=1, out=str(out))
  assert code == 1 and 'every candidate diverged' in err
  assert (out / 'results.json').read_text() == before


def test_every_unusable_path_is_reported_once(job_settings, tmp_path, test_config, capsys):
  inp = tmp_path / 'in'
  inp.mkdir()
  Image.fromarray(np.full((32, 32, 3), 128, np.uint8)).save(inp / 'good.png')
  (inp / 'dangling.png').symlink_to(tmp_path / 'gone.png')
  (inp / 'loop.png').symlink_to(inp / 'loop.png')
  (inp / 'notes.txt').write_text('hello')
  code, err = _run(job_settings, test_config, capsys, input=str(inp), out=str(tmp_path / 'out'))
  assert code == 0
  for name, why in (('dangling.png', 'broken symbolic link'), ('loop.png', 'link loop'),
                    ('notes.txt', 'not an image')):
    lines = [l for l in err.splitlines() if name in l]
    assert len(lines) == 1 and why in lines[0], err
  results = json.loads((tmp_path / 'out' / 'results.json').read_text())
  assert len(results['skipped']) == 3
