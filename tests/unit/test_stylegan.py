"""MobileStyleGAN in Flax against OpenVINO running the wheel's own IR, level by level."""

import pathlib

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image

from nam_jax.data import openvino_ir
from nam_jax.stylegan import convert
from nam_jax.stylegan import model as msg

TOLERANCE = 1e-4
ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope='module')
def converted(tmp_path_factory):
  return convert.convert(tmp_path_factory.mktemp('msg') / 'mobilestylegan.npz')


@pytest.fixture(scope='module')
def params(converted):
  return msg.load_params(converted)


@pytest.fixture(scope='module')
def openvino_nets():
  """(mapping, synthesis with an extra output after every level) compiled by OpenVINO."""
  import openvino
  core = openvino.Core()
  d = convert.ir_dir()
  mapping = openvino_ir.compile_f32(core, d / 'MappingNetwork.xml')
  model = core.read_model(d / 'SynthesisNetwork.xml')
  graph = convert._Graph(model)  # pylint: disable=protected-access
  for name in ['m.conv1.bias'] + [f'm.layers.{i}.conv2.bias' for i in range(7)]:
    prelu = graph.users(graph.users(graph[name], 'Add'), 'PRelu')
    model.add_outputs(prelu.output(0))
  synthesis = openvino_ir.compile_f32(core, model)
  assert openvino_ir.precision(mapping) == openvino_ir.precision(synthesis) == 'f32'
  return mapping, synthesis


def _latents(n=2):
  return np.stack([np.random.RandomState(s).randn(512) for s in range(n)]).astype(np.float32)


GOLDEN = ROOT / 'tests' / 'golden' / 'mobilestylegan_openvino.npz'


def _fingerprint(w, levels, image) -> dict[str, np.ndarray]:
  """Small, telling parts of one synthesis (arrays NCHW): the styles, each level's first 4
  channels in its centre 8x8 (all of it when smaller) and the image's 32x32 block means."""
  out = {'w': np.asarray(w, np.float32)}
  for i, level in enumerate(levels):
    level = np.asarray(level, np.float32)[:, :4]
    c, h = level.shape[-1] // 2, min(4, level.shape[-1] // 2)
    out[f'level{i}'] = level[:, :, c - h:c + h, c - h:c + h]
  image = np.asarray(image, np.float32)
  n, ch, size = image.shape[0], image.shape[1], image.shape[-1]
  out['image'] = image.reshape(n, ch, 32, size // 32, 32, size // 32).mean(axis=(3, 5))
  return out


def _port_fingerprint(params) -> dict[str, np.ndarray]:
  """The Flax port's fingerprint for two truncated styles of fixed latents."""
  w = np.asarray(msg.Mapping().apply({'params': params['mapping']}, jnp.asarray(_latents())))
  w = w.mean(0, keepdims=True) + 0.7 * (w - w.mean(0, keepdims=True))
  levels, image = jax.jit(lambda p, w: msg.Synthesis().apply({'params': p}, w))(
      params['synthesis'], jnp.asarray(w))
  return _fingerprint(w, [np.asarray(x).transpose(0, 3, 1, 2) for x in levels],
                      np.asarray(image).transpose(0, 3, 1, 2))


def test_the_port_matches_the_stored_openvino_outputs(params):
  """The default suite's check of the port: the OpenVINO reference's fingerprint of the same
  computation, stored in tests/golden (written and checked live by the slow test below)."""
  with np.load(GOLDEN) as golden:
    ref = dict(golden)
  ours = _port_fingerprint(params)
  assert set(ours) == set(ref)
  for key, value in ref.items():
    diff = np.abs(ours[key] - value).max()
    assert diff < TOLERANCE, (key, diff)


@pytest.mark.slow  # OpenVINO live; the default suite compares with the stored fingerprint.
def test_the_stored_fingerprint_is_openvinos(params, openvino_nets):
  """OpenVINO's own outputs give the stored fingerprint (NAM_JAX_WRITE_GOLDEN=1 rewrites it)."""
  import os
  mapping, synthesis = openvino_nets
  z = _latents()
  w = np.concatenate([np.asarray(mapping([z[i:i + 1]])[0]) for i in range(len(z))])
  w = w.mean(0, keepdims=True) + 0.7 * (w - w.mean(0, keepdims=True))
  outs = [synthesis([w[b:b + 1]]) for b in range(len(w))]
  levels = [np.concatenate([np.asarray(o[i]) for o in outs]) for i in range(1, 9)]
  live = _fingerprint(w, levels, np.concatenate([np.asarray(o[0]) for o in outs]))
  if os.environ.get('NAM_JAX_WRITE_GOLDEN') == '1':
    GOLDEN.parent.mkdir(exist_ok=True)
    np.savez_compressed(GOLDEN, **live)
  with np.load(GOLDEN) as golden:
    for key, value in live.items():
      assert np.abs(golden[key] - value).max() < TOLERANCE / 10, key


@pytest.mark.slow  # OpenVINO live (the default suite: the stored fingerprint).
def test_mapping_matches_openvino(params, openvino_nets):
  z = _latents()
  ours = np.asarray(msg.Mapping().apply({'params': params['mapping']}, jnp.asarray(z)))
  ref = np.concatenate([np.asarray(openvino_nets[0]([z[i:i + 1]])[0]) for i in range(len(z))])
  diff = np.abs(ours - ref).max()
  print(f'mapping max |diff| {diff:.2e} (max |w| {np.abs(ref).max():.1f})')
  assert diff < TOLERANCE


def test_bf16_inference_would_break_the_port_on_bf16_cpus(params):
  """Why every compilation asks for f32: where the CPU has native bf16, OpenVINO's default
  moves the styles far beyond the port's tolerance (0.03 on an AVX-512 BF16 EPYC)."""
  import openvino
  core = openvino.Core()
  model = core.read_model(convert.ir_dir() / 'MappingNetwork.xml')
  default = core.compile_model(model, 'CPU', {'INFERENCE_PRECISION_HINT': 'bf16'})
  if openvino_ir.precision(default) != 'bf16':
    pytest.skip('this CPU has no native bf16: OpenVINO computes in f32 whatever is asked')
  z = _latents()
  ours = np.asarray(msg.Mapping().apply({'params': params['mapping']}, jnp.asarray(z)))
  ref = np.concatenate([np.asarray(default([z[i:i + 1]])[0]) for i in range(len(z))])
  assert np.abs(ours - ref).max() > 100 * TOLERANCE


def test_synthetic_faces_are_rendered_in_f32():
  from nam_jax.data import rendered_faces
  synth = rendered_faces.synthesizer(0.7)
  assert openvino_ir.precision(synth._mapping) == 'f32'      # pylint: disable=protected-access
  assert openvino_ir.precision(synth._synthesis) == 'f32'    # pylint: disable=protected-access


@pytest.mark.slow  # OpenVINO renders 1024 px live (the default suite: the stored fingerprint).
def test_every_level_and_the_image_match_openvino(params, openvino_nets):
  mapping, synthesis = openvino_nets
  w = np.concatenate([np.asarray(mapping([z[None]])[0]) for z in _latents()])
  w = w.mean(0, keepdims=True) + 0.7 * (w - w.mean(0, keepdims=True))  # Truncated styles.
  levels, image = jax.jit(lambda p, w: msg.Synthesis().apply({'params': p}, w))(
      params['synthesis'], jnp.asarray(w))
  for b in range(len(w)):
    out = synthesis([w[b:b + 1]])
    ref_image, ref_levels = np.asarray(out[0])[0], [np.asarray(out[i])[0] for i in range(1, 9)]
    for level, (ours, ref) in enumerate(zip(levels, ref_levels)):
      diff = np.abs(np.asarray(ours[b]).transpose(2, 0, 1) - ref).max()
      print(f'latent {b} level {level} ({msg.resolution(level)} px) max |diff| {diff:.2e} '
            f'(max |activation| {np.abs(ref).max():.1f})')
      assert diff < TOLERANCE
    diff = np.abs(np.asarray(image[b]).transpose(2, 0, 1) - ref_image).max()
    print(f'latent {b} 1024 px image max |diff| {diff:.2e}')
    assert diff < TOLERANCE


@pytest.mark.slow
def test_w_plus_with_equal_rows_equals_w_and_levels_stop_early(params):
  w = jnp.asarray(_latents(1)) * 0.1
  syn = msg.Synthesis(levels=3, to_image=False)
  a, _ = syn.apply({'params': params['synthesis']}, w)
  b, _ = syn.apply({'params': params['synthesis']},
                   jnp.broadcast_to(w[:, None], (1, msg.NUM_STYLES, 512)))
  assert [x.shape for x in a] == [(1, 4, 4, 512), (1, 8, 8, 512), (1, 16, 16, 512),
                                  (1, 32, 32, 512)]
  np.testing.assert_allclose(np.asarray(a[-1]), np.asarray(b[-1]), atol=1e-5)
  with pytest.raises(ValueError, match='all 7 layers'):
    msg.Synthesis(levels=3, to_image=True).apply({'params': params['synthesis']}, w)


def test_inverse_haar_of_a_constant_low_band():
  x = jnp.zeros((1, 2, 2, 4)).at[..., 0].set(2.0)   # One channel: LL = 2, no detail.
  out = msg.inverse_haar(x, 1)
  np.testing.assert_allclose(np.asarray(out), 1.0, atol=1e-6)  # 2 * a * a = 1 everywhere.


def test_conversion_fails_clearly_without_the_wheel_or_with_other_files(tmp_path, monkeypatch):
  monkeypatch.setattr(convert, 'ir_dir', lambda: tmp_path)
  with pytest.raises(convert.ConversionError, match='missing'):
    convert.convert(tmp_path / 'out.npz')
  for name in convert.EXPECTED:
    (tmp_path / name).write_bytes(b'not the network')
    (tmp_path / name.replace('.bin', '.xml')).write_text('<net/>')
  with pytest.raises(convert.ConversionError, match='differs'):
    convert.convert(tmp_path / 'out.npz')
  assert not (tmp_path / 'out.npz').exists()


@pytest.mark.slow  # A whole head training (25 s); the shipped head is loaded by many tests.
def test_head_distillation_runs_exports_and_loads(test_config, tmp_path, params):
  """The trainer runs on both kinds of pairs, exports, and the export renders through the
  network; a block head starts exactly at the network's own 32 px features."""
  from nam_jax.stylegan import head, train_head
  state = train_head.train(test_config, tmp_path / 'head')
  assert all(np.isfinite(x).all() for x in jax.tree.leaves(state.params))
  spec, head_params, meta = head.load(tmp_path / 'head' / 'export')
  cfg = test_config.stylegan_head
  assert spec == head.HeadSpec(cfg.width, cfg.block, cfg.modulated)
  assert set(meta['source']['heldout']) == {'psi0.70', 'psi1.00'}
  assert all(set(r) == {'psnr', 'lpips', 'faces'} for r in meta['source']['heldout'].values())
  w = msg.Mapping().apply({'params': params['mapping']}, jax.random.normal(
      jax.random.key(0), (2, msg.STYLE_DIM)))
  assert head.render(spec, head_params, params['synthesis'], w).shape == (2, 64, 64, 3)
  fresh = head.init(head.HeadSpec(8, block=True), jax.random.key(1), params['synthesis'])

  class Layer2(nn.Module):
    @nn.compact
    def __call__(self, x, w):
      return msg.layer(head.BLOCK, x, w)

  mine = Layer2().apply({'params': {k: fresh[k] for k in msg.layer_names(head.BLOCK)}},
                        head.features(params['synthesis'], w, head.BLOCK), w)
  np.testing.assert_array_equal(np.asarray(mine), np.asarray(
      head.features(params['synthesis'], w, head.BLOCK + 1)))


def test_head_training_continues_from_an_exported_head_of_its_own_shape(test_config, tmp_path):
  """init_ckpt starts from the exported head's weights (a head of another shape is refused in
  one line, by the trainer before any data) and the cosine schedule ends at a tenth of each
  rate."""
  from nam_jax.stylegan import head, train_head
  shipped = ROOT / 'checkpoints' / 'stylegan_head_cpu'
  spec, want, _ = head.load(shipped)
  cfg = test_config.stylegan_head.copy_and_resolve_references()
  cfg.update(width=spec.width, block=spec.block, modulated=spec.modulated,
             init_ckpt=str(shipped), schedule='cosine', steps=10)
  got = train_head.initial_params(cfg, jax.random.key(0), None)
  chex.assert_trees_all_equal(got, want)
  assert float(train_head.rate(cfg, 1e-3)(0)) == pytest.approx(1e-3)
  assert float(train_head.rate(cfg, 1e-3)(10)) == pytest.approx(1e-4)
  cfg.update(width=spec.width // 2)
  with pytest.raises(ValueError, match='not the configured'):
    train_head.initial_params(cfg, jax.random.key(0), None)
  config = test_config.copy_and_resolve_references()
  config.stylegan_head.update(init_ckpt=str(shipped))  # The test config's head is narrower.
  with pytest.raises(ValueError, match='not the configured'):
    train_head.train(config, tmp_path / 'head')
  assert not (tmp_path / 'head' / 'export').exists()
  cfg.update(schedule='linear')
  with pytest.raises(ValueError, match='schedule'):
    train_head.rate(cfg, 1e-3)


@pytest.mark.slow
def test_style_mean_truncation_reproduces_the_synthetic_faces(test_config, params):
  """The head's training pairs are right only if our w equals the renderer's: rendering a
  test face from its seed through the full Flax network and downsampling it as the data
  pipeline does must give the stored face."""
  from nam_jax.data import datasets, rendered_faces
  from nam_jax.stylegan import train_head
  record = datasets.hr_records(test_config.data, 'test')[0]
  mean = train_head.style_mean(params['mapping'])
  w = train_head.truncated_styles(params['mapping'], mean,
                                  jnp.asarray(rendered_faces.seed_latents([record['seed']])),
                                  test_config.data.truncation)
  _, image = msg.Synthesis().apply({'params': params['synthesis']}, w)
  img = np.clip((np.asarray(image[0]) + 1.0) * 127.5 + 0.5, 0, 255).astype(np.uint8)
  face = rendered_faces.resize_antialiased(img[None], 64)[0]
  assert np.abs(face.astype(int) - record['image'].astype(int)).max() <= 2


@pytest.fixture(scope='module')
def small_head(test_config, tmp_path_factory, params):
  """A folder with a width-8 StyleGAN head ('head') and a test-size H2L network ('degrade')."""
  from nam_jax.degradations import h2l
  from nam_jax.degrade import train as degrade_train
  from nam_jax.stylegan import head
  root = tmp_path_factory.mktemp('small_head')
  spec = head.HeadSpec(8, block=True)
  head.export(spec, head.init(spec, jax.random.key(0), params['synthesis']), root / 'head')
  d = degrade_train.init_state(test_config.degrade, jax.random.key(0))
  h2l.export(test_config.degrade, d.g_params, d.g_stats, root / 'degrade')
  return root


@pytest.mark.slow
def test_stylegan_prior_through_the_registry_and_sr_nam(small_head, params, job_settings):
  """The prior loads from its config block's module, keeps W / W+ shapes, projects into the
  typical ball, and SR-NAM optimises through it (vmapped) with the LR loss going down; the
  spread term pulls a W+ latent's rows together."""
  import dataclasses
  from configs import test as test_cfg
  from nam_jax import priors
  from nam_jax.nam import models, settings
  from nam_jax.stylegan import head
  from nam_jax.stylegan import prior as stylegan_prior
  tmp_path, spec = small_head, head.HeadSpec(8, block=True)
  block = settings.prior_block(test_cfg.get_config().nam, 'stylegan')
  loaded = priors.load_prior(block['module'], tmp_path / 'head')
  prior_, p = loaded.model, loaded.weights
  w = prior_.initial_latent(p, jax.random.key(3))
  assert w.shape == (512,)
  far = p['w_mean'] + 10 * (w - p['w_mean'])
  np.testing.assert_allclose(jnp.linalg.norm(prior_.project(p, far) - p['w_mean']),
                             p['w_radius'], rtol=1e-4)
  near = p['w_mean'] + 1e-3 * (w - p['w_mean'])
  np.testing.assert_allclose(prior_.project(p, near), near, atol=1e-6)
  plus = stylegan_prior.StyleGANPrior(spec, w_plus=True)
  assert plus.initial_latent(p, jax.random.key(3)).shape == (23, 512)
  assert prior_.generate(p, w[None]).shape == (1, 64, 64, 3)
  # A pool start: the prior above is loaded without the LR-face encoder the default start reads.
  nets = dict(prior='stylegan', prior_ckpt=str(tmp_path / 'head'),
              degradation_ckpt=str(tmp_path / 'degrade'), seeds=2, unroll=1, start='pool')
  job = job_settings(**nets, steps=3)
  out = models.super_resolve(models.load_model(job, loaded), np.zeros((1, 16, 16, 3), np.uint8),
                             job)
  assert out['hr'].shape == (1, 2, 64, 64, 3) and out['z'].shape == (1, 2, 512)
  assert np.all(out['loss'] <= out['history'][..., 0] + 1e-6)
  spreads = []
  for spread in (0.0, 100.0):
    plus_job = job_settings(**nets, steps=4, noise='zero', w_plus=True, spread=spread)
    # The loaded weights, as the prior's loader would build it with these own options.
    plus_prior = dataclasses.replace(loaded, options=plus_job.prior_options, model=(
        dataclasses.replace(loaded.model, w_plus=True, spread=spread)))
    r = models.super_resolve(models.load_model(plus_job, plus_prior),
                             np.zeros((1, 16, 16, 3), np.uint8), plus_job)
    assert r['z'].shape == (1, 2, 23, 512)
    spreads.append(float(stylegan_prior.row_spread(jnp.asarray(r['z'][0, 0]))))
  assert spreads[1] < spreads[0]


@pytest.mark.slow
def test_auto_searches_w_plus_only_where_it_chose_a_known_operator(test_config, small_head):
  """The prior's by_degradation options follow auto's choice per input: the bicubic input is
  searched in W+ (its styles differ per layer), the camera input in W (one style, repeated
  in the merged [I, S, 23, 512] latents); an explicit override wins over both."""
  from configs import test as test_cfg
  from nam_jax.data import datasets, real_faces
  from nam_jax.degradations import auto
  from nam_jax.nam import models, settings
  cfg = test_cfg.get_config().nam
  cfg.priors.stylegan.by_degradation = {'bicubic': {'w_plus': True}}
  base = dict(prior='stylegan', prior_ckpt=str(small_head / 'head'), degradation='auto',
              degradation_ckpt=str(ROOT / 'checkpoints' / 'lr_kind_cpu'), seeds=2, steps=3, unroll=1,
              learning_rate=0.05, noise='zero', progress=False)
  job = settings.from_config(cfg, base)

  def w_plus(s):
    return dict(s.prior_options)['w_plus']

  assert w_plus(job.for_degradation('bicubic')) and not w_plus(job.for_degradation('camera'))
  assert not w_plus(settings.from_config(cfg, {**base, 'w_plus': False}).for_degradation(
      'bicubic'))
  assert not w_plus(settings.from_config(
      cfg, {**base, 'prior_options': 'w_plus=False'}).for_degradation('bicubic'))
  assert w_plus(settings.from_config(cfg, {**base, 'degradation': 'bicubic'}))
  hr = datasets.take(datasets.hr_source(test_config.data, 'test'), 8)
  chooser, params, _ = auto.load(job.degradation_ckpt)
  kinds = [chooser.choose(params, real_faces.make_lr(hr, k, 7), ('bicubic', 'camera'))
           for k in ('bicubic', 'camera')]
  i = [a == 'bicubic' and b == 'camera' for a, b in zip(*kinds)].index(True)
  lr = np.concatenate([real_faces.make_lr(hr, k, 7)[i:i + 1] for k in ('bicubic', 'camera')])
  out = models.super_resolve(models.load_model(job), lr, job)
  assert list(out['degradation']) == ['bicubic', 'camera']
  assert out['z'].shape == (2, 2, 23, 512)
  per_layer = np.abs(out['z'] - out['z'][:, :, :1]).max(axis=(2, 3))
  assert np.all(per_layer[0] > 1e-4) and np.all(per_layer[1] == 0)


def test_own_options_belong_to_their_prior_and_are_checked():
  """w_plus and spread are the StyleGAN prior's own options: typed from text, refused for
  the ProGAN prior (which has none), and a negative spread refused by the prior's loader."""
  from configs import test as test_cfg
  from nam_jax.nam import settings
  from nam_jax.stylegan import prior as stylegan_prior
  cfg = test_cfg.get_config().nam
  s = settings.from_config(cfg, {'prior': 'stylegan', 'prior_options': 'w_plus=True,spread=2'})
  assert dict(s.prior_options) == {'w_plus': True, 'spread': 2.0}
  assert settings.from_config(cfg, {'prior': 'stylegan'}).record()['prior_options'] == {
      'w_plus': False, 'spread': 0.0}
  with pytest.raises(ValueError, match="face prior 'progan' takes: none"):
    settings.from_config(cfg, {'prior': 'progan', 'w_plus': True})
  with pytest.raises(ValueError, match="'progan' has no option w_plus"):
    settings.from_config(cfg, {'prior': 'progan', 'prior_options': 'w_plus=True'})
  with pytest.raises(ValueError, match="not True or False"):
    settings.from_config(cfg, {'prior': 'stylegan', 'prior_options': 'w_plus=maybe'})
  with pytest.raises(ValueError, match='spread must be'):
    stylegan_prior.load('nowhere', spread=-1.0)


def test_row_spread_is_zero_for_w_and_equal_rows_and_grows_with_their_distance():
  from nam_jax.stylegan import prior as stylegan_prior
  assert float(stylegan_prior.row_spread(jnp.ones((512,)))) == 0.0
  assert float(stylegan_prior.row_spread(jnp.ones((23, 512)))) == 0.0
  rows = jnp.zeros((2, 4)).at[0].set(1.0)   # Rows 1 and 0: each 0.5 from their mean.
  np.testing.assert_allclose(float(stylegan_prior.row_spread(rows)), 0.25)
  np.testing.assert_allclose(float(stylegan_prior.row_spread(3 * rows)), 9 * 0.25)


def test_first_use_converts_without_forking_beside_jax(tmp_path):
  """The first use of the prior converts the weights in a child process: no
  'os.fork() ... JAX is multithreaded' warning in the process that runs JAX."""
  import os
  import subprocess
  import sys
  code = ('import jax.numpy as jnp; jnp.ones(2).block_until_ready()\n'
          'from nam_jax.stylegan import convert, model\n'
          'p = model.load_params(convert.ensure_converted())\n'
          'print(sorted(p))\n')
  proc = subprocess.run([sys.executable, '-W', 'default', '-c', code], capture_output=True,
                        text=True, timeout=600, env={**os.environ, 'NAM_JAX_DATA': str(tmp_path)})
  assert proc.returncode == 0, proc.stderr
  assert "['mapping', 'synthesis']" in proc.stdout
  assert 'fork' not in proc.stderr, proc.stderr
  assert (tmp_path / 'stylegan' / 'mobilestylegan.npz').is_file()
  assert not list((tmp_path / 'stylegan').glob('*.tmp.npz'))


def _copy(src, dst_dir, checksum=True):
  import shutil
  dst_dir.mkdir(parents=True, exist_ok=True)
  dst = dst_dir / src.name
  shutil.copy(src, dst)
  if checksum:
    shutil.copy(convert.checksum_path(src), convert.checksum_path(dst))
  return dst


def _no_conversion(monkeypatch):
  def fail(*args, **kwargs):
    raise AssertionError('converted although it should not have')
  monkeypatch.setattr(convert, 'convert_in_child_process', fail)


def test_converted_weights_are_checked_against_their_checksum(converted, tmp_path,
                                                              monkeypatch):
  assert convert.problem(converted) is None
  flipped = _copy(converted, tmp_path / 'flip')
  data = bytearray(flipped.read_bytes())
  data[len(data) // 2] ^= 0x10
  flipped.write_bytes(bytes(data))
  assert 'differs' in convert.problem(flipped)
  empty = _copy(converted, tmp_path / 'empty')
  empty.write_bytes(b'')
  assert 'differs' in convert.problem(empty)
  # Weights from before checksums: adopted when every array reads back, without converting.
  _no_conversion(monkeypatch)
  legacy = _copy(converted, tmp_path / 'legacy', checksum=False)
  assert convert.ensure_converted(legacy, say=lambda m: None) == legacy
  assert convert.problem(legacy) is None


def test_a_data_dir_that_cannot_hold_the_weights_is_one_line(tmp_path, monkeypatch):
  _no_conversion(monkeypatch)
  (tmp_path / 'afile').write_text('x')
  with pytest.raises(convert.ConversionError, match='is a file'):
    convert.ensure_converted(tmp_path / 'afile' / 'stylegan' / 'mobilestylegan.npz')


def test_damaged_weights_are_moved_aside_and_concurrent_first_uses_both_succeed(converted,
                                                                               tmp_path):
  """Two processes start on a truncated file at once: one moves it aside and converts, the
  other waits for the lock and uses the result; neither fails."""
  import os
  import subprocess
  import sys
  damaged = _copy(converted, tmp_path / 'stylegan', checksum=False)
  damaged.write_bytes(damaged.read_bytes()[:1000])
  code = ('from nam_jax.stylegan import convert, model\n'
          'p = model.load_params(convert.ensure_converted())\n'
          'print(sorted(p))\n')
  env = {**os.environ, 'NAM_JAX_DATA': str(tmp_path)}
  procs = [subprocess.Popen([sys.executable, '-c', code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env) for _ in range(2)]
  outs = [p.communicate(timeout=600) for p in procs]
  for p, (out, err) in zip(procs, outs):
    assert p.returncode == 0, err
    assert "['mapping', 'synthesis']" in out
  said = ''.join(out for out, _ in outs)
  assert said.count('damaged converted weights') == 1, said
  assert convert.problem(damaged) is None
  assert len(list((tmp_path / 'stylegan').glob('mobilestylegan.npz.damaged-*'))) == 1
  assert not list((tmp_path / 'stylegan').glob('*.tmp.npz*'))


@pytest.mark.slow
def test_final_candidates_render_larger_and_match_the_search(job_settings):
  """--size=128: each final latent rendered once through the full synthesis; its 64 px
  reduction matches the searched candidate and re-degrades to the input about as closely."""
  from configs import test as test_cfg
  from nam_jax.nam import models, settings
  job = job_settings(
      prior='stylegan', prior_ckpt=str(ROOT / 'checkpoints' / 'stylegan_head_cpu'),
      degradation='bicubic',
      w_plus=False,  # W: a W+ latent renders further from the head's face (docs/inference.md).
      seeds=2, steps=30, learning_rate=0.03, sphere=True, unroll=1, size=128)
  face = np.asarray(Image.open(pathlib.Path(__file__).resolve().parents[2] / 'tests' / 'data' /
                               'astronaut_face.png').convert('RGB').resize((16, 16)))
  out = models.super_resolve(models.load_model(job), face[None], job)
  assert out['hr_large'].shape == (1, 2, 128, 128, 3) and out['hr_large'].dtype == np.uint8
  # The distilled head is not the full network: close, not equal (about 25 dB measured).
  assert np.all(out['render_psnr'] > 20), out['render_psnr']
  assert np.all(np.abs(out['render_lr_l1'] - out['loss']) < 0.03), (out['render_lr_l1'],
                                                                     out['loss'])
  with pytest.raises(ValueError, match='unknown size 100; known: 64, 128'):
    settings.from_config(test_cfg.get_config().nam, dict(size=100))


@pytest.mark.slow  # Two tiny searches, four 1024 px renders and a head training (about 90 s).
def test_end_points_of_a_search_train_a_head(test_config, small_head, job_settings, params,
                                             tmp_path):
  """collect searches synthetic LR faces and stores each candidate's final latent with the
  full network's face of it (reduced as the training faces are); the head trainer trains on
  them beside the mapped styles and reports the held-out end points."""
  from nam_jax.nam import models
  from nam_jax.stylegan import head, search_points, train_head
  job = job_settings(prior='stylegan', prior_ckpt=str(small_head / 'head'),
                     degradation_ckpt=str(small_head / 'degrade'), seeds=2, steps=2,
                     start='pool')
  model = models.load_model(job)
  paths = search_points.collect(model, job, params['synthesis'], 2, tmp_path / 'points',
                                chunk=1)
  assert [p.name for p in paths] == ['points_00000_001.npz', 'points_00001_001.npz']
  points = search_points.load(tmp_path / 'points')
  chex.assert_shape(points['w'], (4, msg.NUM_STYLES, msg.STYLE_DIM))
  np.testing.assert_array_equal(points['kind'], np.repeat(search_points.KINDS[:2], 2))
  again = search_points.full_faces(params['synthesis'], points['w'][:1])
  np.testing.assert_array_equal(again, points['image'][:1])
  assert np.all(np.isfinite(points['loss']))
  # A finished shard is kept: collecting again searches nothing.
  stamp = paths[0].stat().st_mtime_ns
  search_points.collect(model, job, params['synthesis'], 2, tmp_path / 'points', chunk=1)
  assert paths[0].stat().st_mtime_ns == stamp
  config = test_config.copy_and_resolve_references()
  config.stylegan_head.update(points=str(tmp_path / 'points'), points_test_faces=1)
  state = train_head.train(config, tmp_path / 'head')
  assert all(np.isfinite(x).all() for x in jax.tree.leaves(state.params))
  _, _, meta = head.load(tmp_path / 'head' / 'export')
  assert meta['source']['heldout']['points']['faces'] == 2
  assert meta['source']['points']['train'] == 2
