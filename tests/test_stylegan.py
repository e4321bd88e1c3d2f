"""MobileStyleGAN in Flax against OpenVINO running the wheel's own IR, level by level."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nam_jax.stylegan import convert
from nam_jax.stylegan import model as msg

TOLERANCE = 1e-4


@pytest.fixture(scope='module')
def params(tmp_path_factory):
  path = convert.convert(tmp_path_factory.mktemp('msg') / 'mobilestylegan.npz')
  return msg.load_params(path)


@pytest.fixture(scope='module')
def openvino_nets():
  """(mapping, synthesis with an extra output after every level) compiled by OpenVINO."""
  import openvino
  core = openvino.Core()
  d = convert.ir_dir()
  mapping = core.compile_model(core.read_model(d / 'MappingNetwork.xml'), 'CPU')
  model = core.read_model(d / 'SynthesisNetwork.xml')
  graph = convert._Graph(model)  # pylint: disable=protected-access
  for name in ['m.conv1.bias'] + [f'm.layers.{i}.conv2.bias' for i in range(7)]:
    prelu = graph.users(graph.users(graph[name], 'Add'), 'PRelu')
    model.add_outputs(prelu.output(0))
  return mapping, core.compile_model(model, 'CPU')


def _latents(n=2):
  return np.stack([np.random.RandomState(s).randn(512) for s in range(n)]).astype(np.float32)


def test_mapping_matches_openvino(params, openvino_nets):
  z = _latents()
  ours = np.asarray(msg.Mapping().apply({'params': params['mapping']}, jnp.asarray(z)))
  ref = np.concatenate([np.asarray(openvino_nets[0]([z[i:i + 1]])[0]) for i in range(len(z))])
  diff = np.abs(ours - ref).max()
  print(f'mapping max |diff| {diff:.2e} (max |w| {np.abs(ref).max():.1f})')
  assert diff < TOLERANCE


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
