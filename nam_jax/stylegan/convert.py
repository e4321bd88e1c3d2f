"""Converts the MobileStyleGAN of the random-face wheel (OpenVINO IR) to a Flax parameter file.

  python -m nam_jax.stylegan.convert      # -> $NAM_JAX_DATA/stylegan/mobilestylegan.npz

The wheel (random-face 2021.7.21.1, requirements-assets.txt) holds the network only as
OpenVINO IR: MappingNetwork (z -> w) and SynthesisNetwork (w -> 1024 px image). This script
reads both graphs with openvino and walks from each named constant (m.layers.i.*) through the
ops the ONNX export folded into it, so every weight lands in the layout nam_jax's Flax modules
use (NHWC activations, HWIO / [in, out] kernels). Conversion needs openvino; inference never
does. The output is cached in the data dir and never committed (the weights derive from
StyleGAN2-FFHQ: see docs/results.md, "Provenance and licence", for their terms).

Layout of the .npz (keys are '/'-joined paths of the Flax params tree):
  mapping/dense_{k}/{kernel [512,512], bias, slope, gain}                 k = 0..7
  synthesis/input [1,4,4,512]
  synthesis/conv1/{style_kernel [512,C], style_bias, style_scale, kernel [3,3,C,C], noise
                   [4,4], bias, slope}
  synthesis/layer_{i}/up/{style_kernel, style_bias}                        i = 0..6
  synthesis/layer_{i}/conv{1,2}/{style_kernel, style_bias, style_scale, depthwise [3,3,C],
                   pointwise [C,C'], noise [H,W], bias, slope}
  synthesis/to_img/{style_kernel, style_bias, style_scale, kernel [64,12], bias [12]}
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import pathlib
import subprocess
import sys

import numpy as np

from nam_jax import files
from nam_jax.data import rendered_faces

# The IR files this converter was written against (sha256 prefixes).
EXPECTED = {'MappingNetwork.bin': '212dd716bdb556e1', 'SynthesisNetwork.bin': 'c7da15fa22d508c8'}
LAYERS = 7


class ConversionError(ValueError):
  """The wheel is missing or holds different files; the message says which."""


def ir_dir() -> pathlib.Path:
  spec = importlib.util.find_spec('random_face')
  if spec is None or spec.origin is None:
    raise ConversionError('the random-face wheel is not installed: run the set-up command in '
                          'README.md (requirements-assets.txt)')
  return pathlib.Path(spec.origin).parent / 'data'


def check_wheel(directory: pathlib.Path) -> None:
  for name, digest in EXPECTED.items():
    path = directory / name
    if not path.is_file() or not (directory / name.replace('.bin', '.xml')).is_file():
      raise ConversionError(f'{path}: missing; expected random-face==2021.7.21.1')
    got = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    if got != digest:
      raise ConversionError(f'{path}: sha256 {got}... differs from {digest}...; this '
                            'converter reads random-face==2021.7.21.1 only')


def default_path() -> pathlib.Path:
  return rendered_faces.default_cache_dir() / 'stylegan' / 'mobilestylegan.npz'


class _Graph:
  """Name lookup and edge walking over an openvino model."""

  def __init__(self, model):
    self.ops = list(model.get_ordered_ops())
    self.by_name = {op.get_friendly_name(): op for op in self.ops}

  def __getitem__(self, name):
    if name not in self.by_name:
      raise ConversionError(f'the IR has no node {name!r}: a different export?')
    return self.by_name[name]

  @staticmethod
  def users(op, of_type: str):
    found = [t.get_node() for t in op.output(0).get_target_inputs()
             if t.get_node().get_type_name() == of_type]
    if len(found) != 1:
      raise ConversionError(f'{op.get_friendly_name()}: expected one {of_type} user, '
                            f'found {len(found)}')
    return found[0]

  @staticmethod
  def constant_input(op) -> np.ndarray:
    consts = [op.input(i).get_source_output().get_node() for i in range(op.get_input_size())]
    consts = [c for c in consts if c.get_type_name() == 'Constant']
    if len(consts) != 1:
      raise ConversionError(f'{op.get_friendly_name()}: expected one constant input')
    return consts[0].get_data().copy()

  @staticmethod
  def weight_input(op, index: int = 1) -> np.ndarray:
    return op.input(index).get_source_output().get_node().get_data().copy()


def _style(g: _Graph, prefix: str, scaled: bool = True) -> dict:
  """A modulation (style = w @ kernel + bias, optionally times a folded scale)."""
  weight, bias = g[prefix + '.modulation.weight'], g[prefix + '.modulation.bias']
  matmul = g.users(weight, 'MatMul')
  if not matmul.get_attributes()['transpose_b']:
    raise ConversionError(f'{prefix}: unexpected MatMul layout')
  out = {'style_kernel': weight.get_data().T.copy(),            # [512, C]
         'style_bias': bias.get_data().reshape(-1).copy()}
  if scaled:
    add = g.users(bias, 'Add')
    out['style_scale'] = g.constant_input(g.users(g.users(add, 'Reshape'), 'Multiply')
                                          ).reshape(())
  return out


def _tail(g: _Graph, conv, bias_name: str) -> dict:
  """conv -> + baked noise -> + bias -> leaky ReLU (PRelu with a constant slope)."""
  add_noise = g.users(conv, 'Add')
  noise = g.constant_input(add_noise)
  add_bias = g.users(add_noise, 'Add')
  prelu = g.users(add_bias, 'PRelu')
  return {'noise': noise.reshape(noise.shape[-2:]),
          'bias': g[bias_name].get_data().reshape(-1).copy(),
          'slope': g.constant_input(prelu).reshape(())}


def _mapping(model) -> dict:
  g = _Graph(model)
  out = {}
  matmuls = [op for op in g.ops if op.get_type_name() == 'MatMul']
  if len(matmuls) != 8:
    raise ConversionError(f'mapping: expected 8 dense layers, found {len(matmuls)}')
  for k, op in enumerate(matmuls):
    w = g.weight_input(op)
    kernel = w.T if op.get_attributes()['transpose_b'] else w      # y = x @ kernel
    add = g.users(op, 'Add')
    prelu = g.users(add, 'PRelu')
    gain = g.users(prelu, 'Multiply')
    out.update({f'mapping/dense_{k}/kernel': kernel, f'mapping/dense_{k}/bias':
                g.constant_input(add).reshape(-1), f'mapping/dense_{k}/slope':
                g.constant_input(prelu).reshape(()), f'mapping/dense_{k}/gain':
                g.constant_input(gain).reshape(())})
  return out


def _synthesis(model) -> dict:
  g = _Graph(model)
  out = {'synthesis/input': g['m.input.input'].get_data().transpose(0, 2, 3, 1).copy()}
  conv1 = _style(g, 'm.conv1.conv')
  modulate = g.users(g.users(g.users(g['m.conv1.conv.modulation.bias'], 'Add'), 'Reshape'),
                     'Multiply')
  conv = g.users(g.users(modulate, 'Multiply'), 'Convolution')
  conv1['kernel'] = g.weight_input(conv).transpose(2, 3, 1, 0)    # OIHW -> HWIO
  conv1.update(_tail(g, conv, 'm.conv1.bias'))
  out.update({f'synthesis/conv1/{k}': v for k, v in conv1.items()})
  for i in range(LAYERS):
    for k, v in _style(g, f'm.layers.{i}.up', scaled=False).items():
      out[f'synthesis/layer_{i}/up/{k}'] = v
    for c in (1, 2):
      prefix = f'm.layers.{i}.conv{c}'
      block = _style(g, prefix + '.conv')
      dw = g[prefix + '.conv.weight_dw']
      group_conv = g.users(dw, 'GroupConvolution')
      if group_conv.get_attributes()['pads_begin'] != [1, 1]:
        raise ConversionError(f'{prefix}: unexpected depthwise padding')
      channels = dw.get_output_shape(0)[0]
      block['depthwise'] = dw.get_data().reshape(channels, 3, 3).transpose(1, 2, 0).copy()
      pointwise = g.users(group_conv, 'Convolution')
      pw = g.weight_input(pointwise)
      block['pointwise'] = pw.reshape(pw.shape[0], pw.shape[1]).T.copy()   # [Cin, Cout]
      block.update(_tail(g, pointwise, prefix + '.bias'))
      out.update({f'synthesis/layer_{i}/conv{c}/{k}': v for k, v in block.items()})
  to_img = _style(g, 'm.layers.6.to_img.conv')
  w = g['m.layers.6.to_img.conv.weight'].get_data()
  to_img['kernel'] = w.reshape(w.shape[0], w.shape[1]).T.copy()          # [64, 12]
  to_img['bias'] = g['m.layers.6.to_img.bias'].get_data().reshape(-1).copy()
  out.update({f'synthesis/to_img/{k}': v for k, v in to_img.items()})
  return out


def convert(out_path: pathlib.Path | None = None) -> pathlib.Path:
  """Writes the converted weights (atomic) and returns their path."""
  import openvino
  directory = ir_dir()
  check_wheel(directory)
  core = openvino.Core()
  arrays = {**_mapping(core.read_model(directory / 'MappingNetwork.xml')),
            **_synthesis(core.read_model(directory / 'SynthesisNetwork.xml'))}
  arrays = {k: np.asarray(v, np.float32) for k, v in arrays.items()}
  out_path = pathlib.Path(out_path or default_path())
  out_path.parent.mkdir(parents=True, exist_ok=True)
  tmp = out_path.with_name(f'{out_path.stem}.{os.getpid()}.tmp.npz')  # Per process.
  np.savez(tmp, **arrays)
  digest = _sha256(tmp)
  tmp_sum = tmp.with_name(tmp.name + '.sha256')
  tmp_sum.write_text(digest + '\n')
  # The weights first, then their checksum: a kill between the two leaves weights without a
  # checksum, which `ensure_converted` treats as damaged and converts again.
  tmp.replace(out_path)
  tmp_sum.replace(checksum_path(out_path))
  return out_path


def checksum_path(path: pathlib.Path) -> pathlib.Path:
  return path.with_name(path.name + '.sha256')


def _sha256(path: pathlib.Path) -> str:
  h = hashlib.sha256()
  with open(path, 'rb') as f:
    for block in iter(lambda: f.read(1 << 20), b''):
      h.update(block)
  return h.hexdigest()


def problem(path: pathlib.Path) -> str | None:
  """Why the converted weights at `path` cannot be trusted ('missing', a damaged file, a
  checksum that does not match), or None when they match the checksum written with them."""
  if not path.exists():
    return 'missing'
  if not path.is_file():
    return 'not a regular file'
  sums = checksum_path(path)
  if not sums.is_file():
    return 'no checksum beside them'
  expected = sums.read_text().strip()
  got = _sha256(path)
  if got != expected:
    return f'sha256 {got[:12]}... differs from the {expected[:12]}... written with them'
  return None


def _reads_completely(path: pathlib.Path) -> bool:
  """Whether every array of the .npz reads back (zip CRCs checked) with the expected keys."""
  import zipfile
  try:
    with np.load(path) as z:
      names = set(z.files)
      for k in z.files:
        z[k]  # pylint: disable=pointless-statement
  except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError):
    return False
  return 'mapping/dense_0/kernel' in names and 'synthesis/to_img/kernel' in names


def _check_data_dir(directory: pathlib.Path) -> None:
  """One line, before any conversion work, when the data dir cannot hold the weights."""
  why = files.writable_folder(directory)
  if why:
    raise ConversionError(f'the data dir {directory} cannot hold the converted MobileStyleGAN '
                          f'weights: {why}; set NAM_JAX_DATA to a writable folder')


def ensure_converted(path: pathlib.Path | None = None, say=print) -> pathlib.Path:
  """The converted weights at `path` (default: the data dir's), verified against their
  checksum; converted (in a child process) when missing, and moved aside and converted again
  when damaged. Concurrent first uses wait for one another (an flock beside the file)."""
  import fcntl
  path = pathlib.Path(path or default_path())
  if problem(path) is None:  # The common case: no lock, no writable dir needed.
    return path
  _check_data_dir(path.parent)
  with open(path.with_name(f'.{path.name}.lock'), 'a') as lock_file:
    fcntl.flock(lock_file, fcntl.LOCK_EX)  # Released when the file is closed.
    why = problem(path)  # Again: another process may have converted meanwhile.
    if why is None:
      return path
    if why == 'no checksum beside them' and _reads_completely(path):
      # Written before checksums were (or killed between the two renames): every member
      # passed the zip's own CRC check, so its checksum is written now.
      checksum_path(path).write_text(_sha256(path) + '\n')
      return path
    if why == 'missing':
      say(f'converting MobileStyleGAN weights to {path} (once)')
    else:
      aside = path.with_name(f'{path.name}.damaged-{os.getpid()}')
      os.replace(path, aside)
      checksum_path(path).unlink(missing_ok=True)
      say(f'{path}: damaged converted weights ({why}); moved aside to {aside.name}, '
          'converting again')
    convert_in_child_process(path)
    why = problem(path)
    if why is not None:
      raise ConversionError(f'{path}: conversion did not produce valid weights ({why})')
  return path


def convert_in_child_process(out_path: pathlib.Path | None = None) -> pathlib.Path:
  """`convert` in a fresh Python process: openvino never runs beside JAX (importing it
  forks a telemetry process, which can deadlock a multithreaded JAX process)."""
  out_path = pathlib.Path(out_path or default_path())
  # The child imports this very package, installed or not: its root goes first on the path.
  root = str(pathlib.Path(__file__).resolve().parents[2])
  env = {**os.environ,
         'PYTHONPATH': os.pathsep.join(filter(None, [root, os.environ.get('PYTHONPATH')]))}
  proc = subprocess.run([sys.executable, '-m', 'nam_jax.stylegan.convert', f'--out={out_path}'],
                        capture_output=True, text=True, env=env)
  if proc.returncode:
    lines = (proc.stderr or proc.stdout).strip().splitlines()
    raise ConversionError(lines[-1].removeprefix('error: ') if lines
                          else f'conversion exited with code {proc.returncode}')
  return out_path


def main(out: str) -> None:
  from nam_jax import cli
  try:
    path = convert(pathlib.Path(out) if out else None)
  except ConversionError as e:
    cli.fail(str(e))
  z = np.load(path)
  print(f'wrote {path}: {len(z.files)} arrays, '
        f'{sum(z[k].size for k in z.files) / 1e6:.2f} M values')


if __name__ == '__main__':
  from absl import flags
  from nam_jax import cli
  _OUT = flags.DEFINE_string('out', '', 'Where the .npz goes (default: the data folder\'s '
                             'stylegan/mobilestylegan.npz).')
  cli.run(lambda argv: main(_OUT.value))
