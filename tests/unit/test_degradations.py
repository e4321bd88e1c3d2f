"""Degradations that can explain real inputs: known operators, the blind camera model, reach,
and --degradation=auto."""

import json
import pathlib

import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image

from configs import cpu
from nam_jax import images
from nam_jax.degradations import auto, camera, operators
from nam_jax.eval import reach
from nam_jax.nam import models

ROOT = pathlib.Path(__file__).resolve().parents[2]
PIL_FILTERS = {'bicubic': Image.BICUBIC, 'bilinear': Image.BILINEAR, 'area': Image.BOX}


@pytest.mark.parametrize('kind', sorted(PIL_FILTERS))
def test_operators_match_pil(faces, kind):
  ref = np.stack([np.asarray(Image.fromarray(f).resize((16, 16), PIL_FILTERS[kind]))
                  for f in faces])
  d = models.load_degradation(cpu.get_config().nam, kind)
  ours = np.asarray(d.model(d.weights, jnp.asarray(images.as_float(faces)), jnp.zeros((3, 0))))
  assert ours.shape == (3, 16, 16, 3)
  diff = np.abs(ours - images.as_float(ref))
  assert diff[:2].mean() < 0.005    # Faces: PIL's own rounding to uint8 is most of it.
  assert diff.mean() < 0.005


def test_resample_matrices_are_pil_shaped():
  area = operators.resample_matrix(64, 16, 'area')
  np.testing.assert_allclose(area[3, 12:16], 0.25)  # A 4x4 block mean.
  assert np.count_nonzero(area[3]) == 4
  cubic = operators.resample_matrix(64, 16, 'bicubic')
  np.testing.assert_allclose(cubic.sum(axis=1), 1.0, atol=1e-6)
  assert np.count_nonzero(cubic[8]) == 16 and cubic[8].min() < 0  # 8 px support, lobes.


def test_reach_of_the_true_face_is_below_a_wrong_face(faces):
  """The truth explains its own input: bicubic and camera reach ~0 with the true face of a
  bicubic input and of a colour-shifted, blurred one, and stay far above with another face."""
  true_hr, wrong_hr = faces[:1], faces[2:3]
  lr_bicubic = np.asarray(Image.fromarray(true_hr[0]).resize((16, 16), Image.BICUBIC))[None]
  raw = np.zeros((1, camera.NUM_PARAMS), np.float32)
  raw[0, camera.GAIN] = [0.8, -0.5, 0.3]
  raw[0, 13:15] = [1.0, 0.0]
  lr_camera = images.as_uint8(np.asarray(camera.CameraDegradation()(
      {}, jnp.asarray(images.as_float(true_hr)), jnp.asarray(raw))))
  bic = models.load_degradation(cpu.get_config().nam, 'bicubic')
  cam = models.load_degradation(cpu.get_config().nam, 'camera')
  assert reach.reach(bic.model, bic.weights, true_hr, lr_bicubic)[0] < 0.005
  assert reach.reach(bic.model, bic.weights, wrong_hr, lr_bicubic)[0] > 0.1
  true_cam = reach.reach(cam.model, cam.weights, true_hr, lr_camera, steps=200)[0]
  assert true_cam < 0.01
  assert reach.reach(cam.model, cam.weights, wrong_hr, lr_camera, steps=200)[0] > 10 * true_cam
  # Bicubic cannot undo the camera's colour and blur; the camera model can.
  assert reach.reach(bic.model, bic.weights, true_hr, lr_camera)[0] > 3 * true_cam


def test_auto_picks_the_operator_that_made_the_input(test_config):
  """The shipped classifier on synthetic faces it never saw (the test config's HR faces),
  made LR by PIL bicubic and by the camera pipeline at both strengths."""
  from nam_jax.data import datasets, real_faces
  chooser, params, _ = auto.load(ROOT / 'checkpoints' / 'lr_kind_cpu')
  hr = datasets.take(datasets.hr_source(test_config.data, 'test'), 8)
  choices = tuple(test_config.nam.degradations.auto.choices)
  assert choices == ('bicubic', 'camera')
  for kind in real_faces.LR_KINDS:
    chosen = chooser.choose(params, real_faces.make_lr(hr, kind, 7), choices)
    expected = 'bicubic' if kind == 'bicubic' else 'camera'
    assert chosen.count(expected) >= len(hr) - 1, (kind, chosen)


def test_every_degradation_runs_in_the_search_and_auto_records_its_choice(job_settings, tmp_path):
  """infer.py's job with each degradation: the search runs (camera parameters optimised),
  and auto writes what it chose for each input to results.json."""
  from nam_jax.nam import job
  lr = np.random.RandomState(0).randint(0, 256, (2, 16, 16, 3)).astype(np.uint8)
  for name in ('bicubic', 'camera'):
    s = job_settings(degradation=name, seeds=2)
    out = models.super_resolve(models.load_model(s), lr, s)
    assert out['hr'].shape == (2, 2, 64, 64, 3)
    assert out['noise'].shape == (2, 2, models.load_degradation(cpu.get_config().nam, name).model.noise_dim)
    assert np.all(out['loss'] <= out['history'][..., 0] + 1e-6)
  folder = tmp_path / 'in'
  folder.mkdir()
  for i, x in enumerate(lr):
    images.save_png(folder / f'face{i}.png', x)
  s = job_settings(degradation='auto', seeds=2, input=str(folder),
                   out=str(tmp_path / 'out'))
  assert job.super_resolve_job(s, None) == 0
  results = json.loads((tmp_path / 'out' / 'results.json').read_text())
  assert results['settings']['degradation'] == 'auto'
  for entry in results['inputs']:
    assert entry['degradation'] in ('bicubic', 'camera')
    assert 0.0 <= entry['camera_probability'] <= 1.0


def test_unknown_degradation_is_refused(job_settings):
  with pytest.raises(ValueError, match='unknown degradation'):
    job_settings(degradation='jpeg')
