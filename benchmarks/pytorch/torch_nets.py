"""PyTorch twins of nam_jax's inference networks, for the speed comparisons in benchmarks/.

Written the way a PyTorch SR-NAM would be: NCHW, torch.nn.functional convolutions, weights
copied from nam_jax's Flax parameters (so both sides compute the same function; the
benchmark checks the outputs agree before timing). Covered: the ProGAN generator at its
last stage (alpha 1) and the High-to-Low degrader in inference mode (batch norm with the
running statistics).

  from benchmarks.pytorch import torch_nets
  g = torch_nets.ProGANGenerator(prior_params, widths)
  d = torch_nets.Degrader(degrader_variables, widths, blocks_per_group)
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def _tensor(a) -> torch.Tensor:
  return torch.from_numpy(np.array(a, dtype=np.float32))


def _oihw(kernel) -> torch.Tensor:
  """A Flax HWIO kernel as a torch OIHW weight."""
  return _tensor(kernel).permute(3, 2, 0, 1).contiguous()


def _pixel_norm(x: torch.Tensor) -> torch.Tensor:
  return x * torch.rsqrt(x.square().mean(dim=1, keepdim=True) + 1e-8)


class ProGANGenerator(torch.nn.Module):
  """z [B, latent] -> [B, 3, 64, 64]: nam_jax.progan.model.Generator at its last stage.

  Equalized-learning-rate scales are folded into the copied weights (the network is fixed
  during SR-NAM, so this is the same function).
  """

  def __init__(self, params, widths):
    super().__init__()
    self.widths = tuple(widths)
    gain = float(np.sqrt(2.0))
    dense = params['block_0']['EqDense_0']
    latent_dim = dense['kernel'].shape[0]
    self.dense_w = torch.nn.Parameter(_tensor(dense['kernel']) * (gain / 4 / np.sqrt(latent_dim)),
                                      requires_grad=False)
    self.dense_b = torch.nn.Parameter(_tensor(dense['bias']), requires_grad=False)
    self.convs = torch.nn.ParameterList()
    self.biases = torch.nn.ParameterList()
    for s in range(len(self.widths)):
      names = ['EqConv_0'] if s == 0 else ['EqConv_0', 'EqConv_1']
      for name in names:
        p = params[f'block_{s}'][name]
        fan_in = np.prod(p['kernel'].shape[:3])
        self.convs.append(torch.nn.Parameter(_oihw(p['kernel']) * (gain / np.sqrt(fan_in)),
                                             requires_grad=False))
        self.biases.append(torch.nn.Parameter(_tensor(p['bias']), requires_grad=False))
    rgb = params[f'to_rgb_{len(self.widths) - 1}']
    self.rgb_w = torch.nn.Parameter(_oihw(rgb['kernel']) / np.sqrt(rgb['kernel'].shape[2]),
                                    requires_grad=False)
    self.rgb_b = torch.nn.Parameter(_tensor(rgb['bias']), requires_grad=False)

  def _conv(self, x, k):
    return _pixel_norm(F.leaky_relu(F.conv2d(x, self.convs[k], self.biases[k], padding=1), 0.2))

  def forward(self, z: torch.Tensor) -> torch.Tensor:
    x = _pixel_norm(z.unsqueeze(-1).unsqueeze(-1)).flatten(1) @ self.dense_w + self.dense_b
    # Flax reshapes to [B, 4, 4, C] (channels last).
    x = x.view(z.shape[0], 4, 4, self.widths[0]).permute(0, 3, 1, 2)
    x = _pixel_norm(F.leaky_relu(x, 0.2))
    x = self._conv(x, 0)
    k = 1
    for _ in range(1, len(self.widths)):
      x = F.interpolate(x, scale_factor=2, mode='nearest')
      x = self._conv(x, k)
      x = self._conv(x, k + 1)
      k += 2
    return F.conv2d(x, self.rgb_w, self.rgb_b)


class Degrader(torch.nn.Module):
  """(hr [B, 3, 64, 64], noise [B, noise_dim]) -> lr [B, 3, 16, 16]: nam_jax.degrade.model.
  Degrader in inference mode."""

  def __init__(self, variables, widths, blocks_per_group):
    super().__init__()
    p, stats = variables['params'], variables['batch_stats']
    self.widths, self.blocks = tuple(widths), blocks_per_group
    self.tensors = torch.nn.ParameterDict()

    def keep(name, a, conv=False):
      self.tensors[name] = torch.nn.Parameter(_oihw(a) if conv else _tensor(a),
                                              requires_grad=False)

    keep('noise_w', p['noise_proj']['kernel'])
    keep('noise_b', p['noise_proj']['bias'])
    for i in range(4):
      keep(f'conv{i}_w', p[f'Conv_{i}']['kernel'], conv=True)
      keep(f'conv{i}_b', p[f'Conv_{i}']['bias'])
    self._bn('bn', p['BatchNorm_0'], stats['BatchNorm_0'])
    for b in range(len(self.widths) * blocks_per_group):
      block, block_stats = p[f'PreActBlock_{b}'], stats[f'PreActBlock_{b}']
      for j in range(2):
        self._bn(f'b{b}_bn{j}', block[f'BatchNorm_{j}'], block_stats[f'BatchNorm_{j}'])
      for j in range(3 if 'Conv_2' in block else 2):
        keep(f'b{b}_conv{j}_w', block[f'Conv_{j}']['Conv_0']['kernel'], conv=True)
        keep(f'b{b}_conv{j}_b', block[f'Conv_{j}']['Conv_0']['bias'])

  def _bn(self, name, p, stats, eps=1e-5):
    """Inference batch norm as one scale and shift per channel."""
    scale = _tensor(p['scale']) / torch.sqrt(_tensor(stats['var']) + eps)
    self.tensors[f'{name}_scale'] = torch.nn.Parameter(scale.view(1, -1, 1, 1),
                                                       requires_grad=False)
    shift = _tensor(p['bias']) - _tensor(stats['mean']) * scale
    self.tensors[f'{name}_shift'] = torch.nn.Parameter(shift.view(1, -1, 1, 1),
                                                       requires_grad=False)

  def _norm_relu(self, x, name):
    t = self.tensors
    return F.relu(x * t[f'{name}_scale'] + t[f'{name}_shift'])

  def _conv(self, x, name):
    w = self.tensors[f'{name}_w']
    return F.conv2d(x, w, self.tensors[f'{name}_b'], padding=w.shape[-1] // 2)

  @staticmethod
  def _depth_to_space(x):
    """nam_jax.layers.pixel_shuffle's channel order (row, column, channel), in NCHW."""
    b, c, h, w = x.shape
    x = x.view(b, 2, 2, c // 4, h, w).permute(0, 3, 4, 1, 5, 2)
    return x.reshape(b, c // 4, h * 2, w * 2)

  def forward(self, hr: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    t = self.tensors
    noise_map = (noise @ t['noise_w'] + t['noise_b']).view(-1, 1, 64, 64)
    x = self._conv(torch.cat([hr, noise_map], dim=1), 'conv0')
    b = 0
    for g in range(len(self.widths)):
      for _ in range(self.blocks):
        h = self._conv(self._norm_relu(x, f'b{b}_bn0'), f'b{b}_conv0')
        h = self._conv(self._norm_relu(h, f'b{b}_bn1'), f'b{b}_conv1')
        skip = self._conv(x, f'b{b}_conv2') if f'b{b}_conv2_w' in t else x
        x = skip + h
        b += 1
      if g < 4:
        x = F.avg_pool2d(x, 2)
      else:
        x = self._depth_to_space(self._conv(x, f'conv{g - 3}'))
    return torch.tanh(self._conv(self._norm_relu(x, 'bn'), 'conv3'))


def _leaky(x: torch.Tensor, slope) -> torch.Tensor:
  return torch.where(x >= 0, x, x * slope)


def inverse_haar(x: torch.Tensor, channels: int) -> torch.Tensor:
  """[B, 4C, H, W] Haar coefficients (low C | high C x 3 interleaved) -> [B, C, 2H, 2W]."""
  b, _, h, w = x.shape
  a = float(1 / np.sqrt(2))
  high = x[:, channels:].reshape(b, channels, 3, h, w)
  ll, lh, hl, hh = x[:, :channels], high[:, :, 0], high[:, :, 1], high[:, :, 2]
  lo = torch.stack([ll + lh, ll - lh], dim=3) * a        # [B, C, H, 2, W]: rows 2i + p
  hi = torch.stack([hl + hh, hl - hh], dim=3) * a
  out = torch.stack([lo + hi, lo - hi], dim=5) * a       # [B, C, H, 2, W, 2]: columns 2j + q
  return out.reshape(b, channels, 2 * h, 2 * w)


class StyleGAN64(torch.nn.Module):
  """w [B, 512] -> [B, 3, 64, 64]: nam_jax.stylegan's cut-down synthesis (constant, conv1,
  layers 0-1 to 16 px) and a `block`, `modulated` 64 px head (its own layer 2, styled 1x1 /
  3x3 / 1x1 convs, inverse Haar), in W space."""

  def __init__(self, synthesis_params, head_params):
    super().__init__()
    self.t = torch.nn.ParameterDict()
    keep = lambda name, a: self.t.__setitem__(
        name, torch.nn.Parameter(_tensor(a), requires_grad=False))
    sp, hp = synthesis_params, head_params
    keep('input', np.asarray(sp['input']).transpose(0, 3, 1, 2))
    self.modules_ = [('conv1', sp['conv1'], 'conv')]
    for i in range(3):
      src = hp if i == 2 else sp
      self.modules_ += [(f'layer_{i}_up', src[f'layer_{i}_up'], 'up'),
                        (f'layer_{i}_conv1', src[f'layer_{i}_conv1'], 'sep'),
                        (f'layer_{i}_conv2', src[f'layer_{i}_conv2'], 'sep')]
    for name, p, kind in self.modules_:
      keep(f'{name}__style_kernel', p['style_kernel'])
      keep(f'{name}__style_bias', p['style_bias'])
      keep(f'{name}__style_scale', p.get('style_scale', 1.0))
      if kind == 'conv':
        keep(f'{name}__kernel', np.asarray(p['kernel']).transpose(3, 2, 0, 1))
      elif kind == 'sep':
        dw = np.asarray(p['depthwise'])                              # [3, 3, C]
        keep(f'{name}__depthwise', dw.transpose(2, 0, 1)[:, None])   # [C, 1, 3, 3]
        keep(f'{name}__pointwise', np.asarray(p['pointwise']).T[:, :, None, None])
      if kind != 'up':
        keep(f'{name}__noise', p['noise'])
        keep(f'{name}__bias', p['bias'])
        keep(f'{name}__slope', p['slope'])
    self.kinds = [(name, kind) for name, _, kind in self.modules_]
    for name in ('reduce_style', 'reduce', 'coeffs_style', 'to_coeffs'):
      keep(f'{name}__kernel', hp[name]['kernel'])
      keep(f'{name}__bias', hp[name]['bias'])
    keep('conv__kernel', np.asarray(hp['Conv_0']['kernel']).transpose(3, 2, 0, 1))
    keep('conv__bias', hp['Conv_0']['bias'])

  def _style(self, name, w):
    t = self.t
    s = (w @ t[f'{name}__style_kernel'] + t[f'{name}__style_bias']) * t[f'{name}__style_scale']
    return s[:, :, None, None]

  def _finish(self, name, x):
    t = self.t
    x = x + t[f'{name}__noise'] + t[f'{name}__bias'][:, None, None]
    return _leaky(x, t[f'{name}__slope'])

  def _dense(self, name, x):
    """A Flax Dense on channels-last features, as a 1x1 conv in NCHW."""
    t = self.t
    return F.conv2d(x, t[f'{name}__kernel'].T[:, :, None, None], t[f'{name}__bias'])

  def forward(self, w: torch.Tensor) -> torch.Tensor:
    t = self.t
    x = t['input'].expand(w.shape[0], -1, -1, -1)
    for name, kind in self.kinds:
      x = x * self._style(name, w)
      if kind == 'conv':
        x = self._finish(name, F.conv2d(x, t[f'{name}__kernel'], padding=1))
      elif kind == 'up':
        x = inverse_haar(x, x.shape[1] // 4)
      else:
        x = F.conv2d(x, t[f'{name}__depthwise'], padding=1, groups=x.shape[1])
        x = self._finish(name, F.conv2d(x, t[f'{name}__pointwise']))
    style = lambda name: (w @ t[f'{name}__kernel'] + t[f'{name}__bias'])[:, :, None, None]
    x = x * style('reduce_style')
    x = F.leaky_relu(self._dense('reduce', x), 0.2)
    x = F.leaky_relu(F.conv2d(x, t['conv__kernel'], t['conv__bias'], padding=1), 0.2)
    x = x * style('coeffs_style')
    return inverse_haar(self._dense('to_coeffs', x), 3)
