"""infer.py's outputs: safe unique names per input, writes confined to --out, --out locked for
the run, followed when a symbolic link, filled in place when a mount point; special files in
an input folder skipped without being opened."""

import json
import os
import pathlib
import signal
import string

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from PIL import Image

from nam_jax.data import folder
from nam_jax.nam import inputs as inputs_lib
from nam_jax import images
from nam_jax.nam import names, report

FACE = np.asarray(Image.open(pathlib.Path(__file__).resolve().parents[2] / 'tests' / 'data' /
                             'astronaut_face.png').convert('RGB'))


def test_names_are_safe_distinct_and_keep_plain_stems():
  stems = ['a', 'a', 'a_2', '..', 'results.json', '', 'CON', 'ünï code', 'A', 'plain']
  paths = ['d/a.png', 'd/a.jpg', 'd/a_2.png', 'd/...png', 'd/results.json.png', 'd/.png',
           'd/CON.png', 'd/ünï code.png', 'd/A.png', 'd/plain.png']
  out = names.unique(stems, paths)
  assert len({n.lower() for n in out}) == len(out)
  for n in out:
    assert n and '.' not in n and '/' not in n and n.lower() != 'con'
  assert out[2] == 'a_2' and out[-1] == 'plain'  # No collision: the stem as it is.
  # A collision: the file name with its extension, then (a.png and A.png still collide) the
  # stem with a short hash.
  assert out[1] == 'a_jpg' and out[0].startswith('a-') and out[8].startswith('A-')
  assert out == names.unique(stems, paths)  # Stable.
  # Never the folders: the same files elsewhere get the same names, however deep.
  deep = ['/' + 'x' * 80 + '/tmp-of-someone/' + p for p in paths]
  assert names.unique(stems, deep)[1:8] == out[1:8]
  assert all(len(n) <= 16 for n in names.unique(stems, deep))


def _fake_result(n: int, seeds: int = 2) -> dict:
  rng = np.random.default_rng(n)
  return {'hr': rng.uniform(-1, 1, (n, seeds, 64, 64, 3)).astype(np.float32),
          'lr': rng.uniform(-1, 1, (n, seeds, 16, 16, 3)).astype(np.float32),
          'loss': rng.uniform(0, 1, (n, seeds)).astype(np.float32),
          'history': rng.uniform(0, 1, (n, seeds, 3)).astype(np.float32), 'seconds': 1.0}


def _write_results(in_dir: pathlib.Path, out: pathlib.Path) -> dict:
  """What infer.py does with a folder of inputs, minus the search (random candidates)."""
  inp = inputs_lib.resolve(str(in_dir), data_cfg=None)
  with report.staged(out) as staging:
    report.write(staging, inp, _fake_result(len(inp.names)), {})
    report.commit(staging, out)
  return {'inputs': inp, 'results': json.loads((out / 'results.json').read_text())}


_CHARS = string.ascii_letters[:6] + '._- ' + 'éÉüß名' + '\u0301'
_NAME = st.text(_CHARS, min_size=1, max_size=12).filter(lambda s: s not in ('.', '..'))


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=st.lists(st.tuples(_NAME, st.sampled_from(['png', 'jpg', 'PNG', 'json.png', ''])),
                      min_size=1, max_size=8),
       fifo=st.booleans())
def test_hostile_input_names_get_one_folder_each_and_nothing_escapes(tmp_path_factory, files,
                                                                      fifo):
  root = tmp_path_factory.mktemp('names')
  in_dir, out = root / 'in', root / 'parent' / 'out'
  in_dir.mkdir()
  out.parent.mkdir()
  (out.parent / 'grid.png').write_bytes(b'the user\'s own file')
  written = set()
  for stem, ext in files:
    name = f'{stem}.{ext}' if ext else stem
    path = in_dir / name
    if name.startswith('.') or path.exists():
      continue  # Hidden files are not inputs; the same name twice is one file.
    Image.fromarray(FACE).save(path, format='JPEG' if ext == 'jpg' else 'PNG')
    written.add(path.name)
  if fifo:
    os.mkfifo(in_dir / 'pipe.png')
  if not written:
    return
  done = _write_results(in_dir, out)
  inp, res = done['inputs'], done['results']
  # One folder per input, each with its own files; results.json maps every input there.
  assert sorted(pathlib.Path(s).name for s in inp.sources) == sorted(written)
  folders = sorted(p.name for p in out.iterdir() if p.is_dir())
  assert folders == sorted(inp.names) and len(set(n.lower() for n in folders)) == len(folders)
  for entry in res['inputs']:
    assert entry['grid'] == f'{entry["name"]}/grid.png'
    assert (out / entry['grid']).is_file()
    assert all(c['hr_path'].startswith(entry['name'] + '/') for c in entry['candidates'])
  assert sorted(e['source'] for e in res['inputs']) == sorted(inp.sources)
  # Nothing outside --out: the parent holds only the user's file and --out.
  assert sorted(p.name for p in out.parent.iterdir()) == ['grid.png', 'out']
  assert (out.parent / 'grid.png').read_bytes() == b'the user\'s own file'
  assert any('named pipe' in s for s in inp.skipped) == fifo


def test_writes_outside_the_results_folder_are_refused(tmp_path):
  assert report.inside(tmp_path, 'a', 'grid.png') == tmp_path / 'a' / 'grid.png'
  for parts in (('..', 'x.png'), ('a/../../x.png',), ('',), ('.',)):
    with pytest.raises(report.OutputError, match='outside the results folder'):
      report.inside(tmp_path, *parts)


def test_a_fifo_in_the_input_folder_is_skipped_not_opened(tmp_path):
  Image.fromarray(FACE).save(tmp_path / 'face.png')
  os.mkfifo(tmp_path / 'pipe.png')
  signal.alarm(20)  # Opening the pipe would block forever.
  try:
    lr, used, skipped = folder.load_folder(tmp_path, 16)
  finally:
    signal.alarm(0)
  assert lr.shape == (1, 16, 16, 3) and [p.name for p in used] == ['face.png']
  assert skipped == [f'{tmp_path / "pipe.png"}: a named pipe (FIFO), not an image file; skipped']


def test_a_second_run_on_the_same_out_stops_with_one_line(tmp_path):
  out = tmp_path / 'out'
  with report.staged(out):
    with pytest.raises(report.OutputError, match='in use by a running job'):
      with report.staged(out):
        pass
  with report.staged(out) as staging:  # Released: the next run goes ahead.
    assert staging.is_dir()


def test_a_symlink_out_is_followed_and_nothing_is_left_behind(tmp_path):
  target = tmp_path / 'real'
  target.mkdir()
  link = tmp_path / 'link'
  link.symlink_to(target)
  for _ in range(2):  # A first run, then a rerun that replaces it.
    with report.staged(link) as staging:
      (staging / 'results.json').write_text('{}')
      report.commit(staging, link)
  assert link.is_symlink() and (target / 'results.json').is_file()
  assert sorted(p.name for p in tmp_path.iterdir()) == ['link', 'real']
  dangling = tmp_path / 'dangling'
  dangling.symlink_to(tmp_path / 'missing')
  with pytest.raises(report.OutputError, match='does not exist'):
    report.resolve_out(dangling)


def test_a_mount_point_out_is_filled_in_place(tmp_path, monkeypatch):
  out = tmp_path / 'volume'
  out.mkdir()
  (out / 'results.json').write_text('{"old": 1}')
  (out / 'old_face').mkdir()
  inode = out.stat().st_ino
  real_ismount = os.path.ismount
  monkeypatch.setattr(os.path, 'ismount', lambda p: pathlib.Path(p) == out or real_ismount(p))

  def no_rename(self, target):
    raise OSError(16, 'Device or resource busy')  # What renaming a mount point gives.
  with report.staged(out) as staging:
    assert staging.parent == out
    (staging / 'results.json').write_text('{"new": 1}')
    (staging / 'face').mkdir()
    monkeypatch.setattr(pathlib.Path, 'rename', no_rename)
    report.commit(staging, out)
  assert out.stat().st_ino == inode
  assert sorted(p.name for p in out.iterdir()) == ['face', 'results.json']
  assert json.loads((out / 'results.json').read_text()) == {'new': 1}


def test_aligned_faces_of_photos_sharing_a_stem_keep_their_own_names(tmp_path):
  photo = pathlib.Path(__file__).resolve().parents[2] / 'examples' / 'photos' / 'group.jpg'
  Image.open(photo).save(tmp_path / 'a.jpg')
  Image.open(photo).save(tmp_path / 'a.png')
  inp = inputs_lib.resolve(str(tmp_path), data_cfg=None, align=True)
  assert len(inp.sheets) == 2 and len(set(inp.names)) == len(inp.names)
  # Every face is named after its own photo (re-encoding may change what is detected), short
  # and readable, wherever pytest put the files.
  assert sorted(inp.sheets) == ['a_jpg', 'a_png']
  assert sorted({n.rsplit('_face', 1)[0] for n in inp.names}) == sorted(inp.sheets)
  assert all(src.startswith(str(tmp_path / 'a.')) for src in inp.sources)


def test_progan_says_in_one_line_that_it_renders_64_px_only(job_settings, test_config, tmp_path,
                                                            capsys):
  from nam_jax.nam import job
  s = job_settings(seeds=1, steps=1, unroll=1, input='examples', limit=1, size=256,
                   out=str(tmp_path / 'out'))
  assert job.super_resolve_job(s, test_config.data) == 0
  said = capsys.readouterr().out
  assert 'the progan prior renders 64 px only; --size=256 ignored' in said
  res = json.loads((tmp_path / 'out' / 'results.json').read_text())
  path = tmp_path / 'out' / res['inputs'][0]['candidates'][0]['hr_path']
  assert res['size'] == 64 and Image.open(path).size == (64, 64)


def test_a_pick_that_names_no_face_is_one_line_before_the_search(job_settings, test_config,
                                                                  tmp_path, capsys):
  from configs import test as test_cfg
  from nam_jax.nam import job, settings
  for pick, align in (('nobody_face0:1', True), ('astronaut_face:0', False)):
    s = job_settings(seeds=2, steps=1, unroll=1, align=align, pick=pick,
                     input=str(pathlib.Path(__file__).resolve().parents[2] / 'examples' /
                               'photos'), out=str(tmp_path / 'out'))
    assert job.super_resolve_job(s, test_config.data) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(f'error: --pick {pick}: needs --align'), err
    assert not (tmp_path / 'out').exists()
  with pytest.raises(ValueError, match='FACE:RANK'):
    settings.from_config(test_cfg.get_config().nam, {'pick': 'group_face0'})


def test_groups_are_listed_and_drawn_one_row_each(tmp_path):
  Image.fromarray(FACE).save(tmp_path / 'face.png')
  inp = inputs_lib.resolve(str(tmp_path / 'face.png'), data_cfg=None)
  result = _fake_result(1, seeds=3)
  result['loss'][0] = [0.3, 0.1, 0.2]   # Ranks: seed 1, seed 2, seed 0.
  result['groups'] = [[[1, 0], [2]]]
  out = tmp_path / 'out'
  with report.staged(out) as staging:
    report.write(staging, inp, result, {})
    report.commit(staging, out)
  entry = json.loads((out / 'results.json').read_text())['inputs'][0]
  assert entry['groups'] == [{'size': 2, 'ranks': [0, 2], 'seeds': [1, 0]},
                             {'size': 1, 'ranks': [1], 'seeds': [2]}]
  grid = np.asarray(Image.open(out / entry['grid']))
  # Candidates, their LR, their residuals, one row per group, then the disagreement map.
  assert grid.shape[0] == 6 * 66 + 2
  spread = np.asarray(Image.open(out / entry['disagreement']))
  assert spread.shape == (64, 64, 3) and entry['disagreement_mean'] > 0
  assert [c['consistency'] for c in entry['candidates']] == ['pass', 'warn', 'warn']
  assert entry['consistency'] == 'pass'  # Its top candidate's (LR L1 0.1).


def test_consistency_flags_and_residual_maps():
  from nam_jax.nam import consistency
  loss = np.array([[0.05, consistency.THRESHOLD + 1e-3, np.nan]])
  assert consistency.flags(loss).tolist() == [['pass', 'warn', 'warn']]
  fit = np.zeros((1, 2, 16, 16, 3), np.float32)
  fit[0, 1, 3, 4] = 0.6
  maps = consistency.residual_maps(fit, np.zeros((1, 16, 16, 3), np.float32))
  assert len(maps) == 1 and maps[0].shape == (2, 16, 16) and maps[0][0].max() == 0
  assert np.isclose(maps[0][1, 3, 4], 0.6) and maps[0][1].sum() == maps[0][1, 3, 4]
  heat = consistency.heat(maps[0][1])
  assert heat[3, 4].tolist() == [1.0, 1.0, 1.0] and heat[0, 0].tolist() == [-1.0] * 3


def test_a_flat_input_never_passes_however_well_it_is_fitted(tmp_path):
  """An all-black input: the camera model fits it by dimming any face, so a tiny LR L1 says
  nothing; its candidates warn."""
  from nam_jax.nam import consistency
  black = np.zeros((16, 16, 3), np.uint8)
  Image.fromarray(black).save(tmp_path / 'black.png')
  Image.fromarray(FACE).save(tmp_path / 'face.png')
  inp = inputs_lib.resolve(str(tmp_path), data_cfg=None)
  assert consistency.has_content(images.as_float(inp.lr_images)).tolist() == [
      n != 'black' for n in inp.names]
  result = _fake_result(2, seeds=2)
  result['loss'][:] = 0.0006
  out = tmp_path / 'out'
  with report.staged(out) as staging:
    report.write(staging, inp, result, {})
    report.commit(staging, out)
  flags = {e['name']: e['consistency'] for e in
           json.loads((out / 'results.json').read_text())['inputs']}
  assert flags == {'black': 'warn', 'face': 'pass'}


def test_an_error_inside_the_job_is_not_called_an_out_problem(tmp_path):
  """A PermissionError of the job itself (an unreadable input, say) comes out as it is."""
  with pytest.raises(PermissionError, match='input.png'):
    with report.staged(tmp_path / 'out'):
      raise PermissionError(13, 'Permission denied', 'input.png')
  assert not (tmp_path / 'out').exists()


def test_a_users_own_dot_parts_is_never_taken_for_ours(tmp_path):
  from nam_jax.nam import parts
  out = tmp_path / 'out'
  out.mkdir()
  (out / '.parts').write_text('my notes')
  with pytest.raises(report.OutputError, match='folder of other files'):
    with report.staged(out):
      pass
  assert (out / '.parts').read_text() == 'my notes'
  folder = tmp_path / 'other' / '.parts'
  folder.mkdir(parents=True)
  (folder / 'mine.txt').write_text('x')
  with pytest.raises(report.OutputError, match='not a parts folder'):
    parts.prepare(folder, parts.job_record({}, ['a']))
  assert (folder / 'mine.txt').is_file()


def test_parts_of_inputs_whose_content_changed_are_discarded(tmp_path):
  from nam_jax.nam import parts
  folder = tmp_path / '.parts'
  lr = np.zeros((2, 16, 16, 3), np.uint8)
  said = []
  parts.prepare(folder, parts.job_record({'seeds': 2}, ['a', 'b'], lr), said.append)
  (folder / 'part-000000-p0').mkdir()
  parts.prepare(folder, parts.job_record({'seeds': 2}, ['a', 'b'], lr.copy()), said.append)
  assert (folder / 'part-000000-p0').is_dir() and not said  # Same pixels: kept.
  fixed = lr.copy()
  fixed[1, 3, 3] = 200  # The user fixed input b and reran.
  parts.prepare(folder, parts.job_record({'seeds': 2}, ['a', 'b'], fixed), said.append)
  assert not (folder / 'part-000000-p0').exists() and 'discarded' in said[0]


def test_an_input_link_that_cannot_be_followed_says_why(tmp_path):
  loop = tmp_path / 'loop'
  os.symlink(loop, loop)
  with pytest.raises(FileNotFoundError, match='loop of links'):
    inputs_lib.resolve(str(loop), data_cfg=None)
  dangling = tmp_path / 'dangling'
  os.symlink(tmp_path / 'gone.png', dangling)
  with pytest.raises(FileNotFoundError, match='points to a missing file'):
    inputs_lib.resolve(str(dangling), data_cfg=None)


def test_candidates_that_fit_far_worse_are_marked_and_ranked_last(tmp_path):
  from nam_jax.nam import consistency
  loss = np.array([[0.1, 0.1 * consistency.OUTLIER_RATIO + 1e-3, 0.12, np.inf]])
  assert consistency.outliers(loss).tolist() == [[False, True, False, False]]
  Image.fromarray(FACE).save(tmp_path / 'face.png')
  inp = inputs_lib.resolve(str(tmp_path / 'face.png'), data_cfg=None)
  result = _fake_result(1, seeds=3)
  result['loss'][0] = [0.1, 0.5, 0.12]
  result['rank_score'] = np.array([[0.2, 0.0, 0.3]])  # The ranking alone would put seed 1 first.
  out = tmp_path / 'out'
  with report.staged(out) as staging:
    report.write(staging, inp, result, {})
    report.commit(staging, out)
  entry = json.loads((out / 'results.json').read_text())['inputs'][0]
  assert [(c['seed'], c['outlier']) for c in entry['candidates']] == [
      (0, False), (2, False), (1, True)]
  grid = np.asarray(Image.open(out / entry['grid']))
  frame = lambda col: grid[2:5, 2 + col * 66 + 10:2 + col * 66 + 50].reshape(-1, 3)
  assert np.all(frame(3) == [220, 30, 30]) and not np.all(frame(1) == [220, 30, 30])
  assert 'outlier: fits far worse' in (out / 'index.html').read_text()
