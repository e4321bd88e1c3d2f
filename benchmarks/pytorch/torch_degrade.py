"""A PyTorch twin of nam_jax's degradation GAN training step, for benchmarks/bench_train.py.

The same networks as nam_jax.degrade.model (Degrader with batch norm in training mode,
Critic without it, both of pre-activation residual blocks), the same step as
nam_jax.degrade.train.train_step: `n_critic` critic updates (hinge loss + gradient penalty
through torch.autograd.grad with create_graph) then one generator update (L1 to the
4x-pooled HR image, VGG16 perceptual term, adversarial term), Adam for both. Written as a
PyTorch user would: nn.Module, NCHW, torch's default initialisation (the speed comparison
needs the same shapes, not the same weights; `parameter_count` is checked against nam_jax's).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class PreActBlock(nn.Module):
  """[BN] ReLU conv [BN] ReLU conv + skip (1x1 conv when the width changes)."""

  def __init__(self, cin: int, cout: int, batch_norm: bool):
    super().__init__()
    norm = (lambda c: nn.BatchNorm2d(c, momentum=0.1)) if batch_norm else (lambda c: nn.Identity())
    self.n0, self.n1 = norm(cin), norm(cout)
    self.c0 = nn.Conv2d(cin, cout, 3, padding=1)
    self.c1 = nn.Conv2d(cout, cout, 3, padding=1)
    self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

  def forward(self, x):
    h = self.c0(F.relu(self.n0(x)))
    return self.skip(x) + self.c1(F.relu(self.n1(h)))


class Degrader(nn.Module):
  """(hr [B, 3, 64, 64], noise [B, noise_dim]) -> lr [B, 3, 16, 16]."""

  def __init__(self, widths, blocks_per_group: int, noise_dim: int):
    super().__init__()
    self.noise_proj = nn.Linear(noise_dim, 64 * 64)
    self.first = nn.Conv2d(4, widths[0], 3, padding=1)
    layers, cin = [], widths[0]
    for g, width in enumerate(widths):
      for _ in range(blocks_per_group):
        layers.append(PreActBlock(cin, width, batch_norm=True))
        cin = width
      if g < 4:
        layers.append(nn.AvgPool2d(2))
      else:
        layers += [nn.Conv2d(width, 4 * width, 3, padding=1), nn.PixelShuffle(2)]
    self.body = nn.Sequential(*layers)
    self.last_norm = nn.BatchNorm2d(cin)
    self.last = nn.Conv2d(cin, 3, 3, padding=1)

  def forward(self, hr, noise):
    noise_map = self.noise_proj(noise).view(-1, 1, 64, 64)
    x = self.body(self.first(torch.cat([hr, noise_map], 1)))
    return torch.tanh(self.last(F.relu(self.last_norm(x))))


class Critic(nn.Module):
  """lr [B, 3, 16, 16] -> logits [B]: 6 residual blocks, max-pooling after the last two."""

  def __init__(self, widths, pools: int = 2, size: int = 16):
    super().__init__()
    layers, cin = [nn.Conv2d(3, widths[0], 3, padding=1)], widths[0]
    for i, width in enumerate(widths):
      layers.append(PreActBlock(cin, width, batch_norm=False))
      cin = width
      if i >= len(widths) - pools:
        layers.append(nn.MaxPool2d(2))
        size //= 2
    self.body = nn.Sequential(*layers)
    self.dense = nn.Linear(cin * size * size, 1)

  def forward(self, x):
    return self.dense(F.relu(self.body(x)).flatten(1))[:, 0]


class VGG16Head(nn.Module):
  """VGG16's first convolutions up to relu2_2 (the perceptual tap of configs/cpu.py)."""

  def __init__(self):
    super().__init__()
    self.body = nn.Sequential(
        nn.Conv2d(3, 64, 3, padding=1), nn.ReLU(), nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(), nn.Conv2d(128, 128, 3, padding=1), nn.ReLU())
    for p in self.parameters():
      p.requires_grad_(False)

  def forward(self, x):
    return self.body(x)


def parameter_count(*modules: nn.Module) -> int:
  return sum(p.numel() for m in modules for p in m.parameters())


class Trainer:
  """Networks, optimisers and one training step with the settings of a `config.degrade`."""

  def __init__(self, cfg):
    if tuple(cfg.perceptual_taps) not in ((), ('relu2_2',)) or cfg.perceptual_size != 16:
      raise ValueError('the torch twin covers the relu2_2 perceptual term on 16 px images')
    if cfg.spectral_norm:
      raise ValueError('the torch twin has no spectral norm')
    self.cfg = cfg
    self.g = Degrader(cfg.gen_widths, cfg.blocks_per_group, cfg.noise_dim)
    self.d = Critic(cfg.critic_widths)
    self.vgg = VGG16Head()
    adam = lambda net: torch.optim.Adam(net.parameters(), lr=cfg.learning_rate,
                                        betas=(cfg.b1, cfg.b2))
    self.g_opt, self.d_opt = adam(self.g), adam(self.d)

  def step(self, hr: torch.Tensor, lr_images: torch.Tensor) -> None:
    """hr [n_critic + 1, B, 3, 64, 64], lr_images [n_critic, B, 3, 16, 16]."""
    cfg, g, d = self.cfg, self.g, self.d
    b = hr.shape[1]
    for i in range(cfg.n_critic):
      with torch.no_grad():
        fake = g(hr[i], torch.randn(b, cfg.noise_dim))
      real = lr_images[i]
      logits = d(torch.cat([real, fake]))
      loss = F.relu(1 - logits[:b]).mean() + F.relu(1 + logits[b:]).mean()
      eps = torch.rand(b, 1, 1, 1)
      x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
      grad, = torch.autograd.grad(d(x_hat).sum(), x_hat, create_graph=True)
      gp = ((grad.flatten(1).square().sum(1) + 1e-12).sqrt() - 1).square().mean()
      self.d_opt.zero_grad(set_to_none=True)
      (loss + cfg.gp_weight * gp).backward()
      self.d_opt.step()
    hr_g = hr[cfg.n_critic]
    target = F.avg_pool2d(hr_g, 4)
    fake = g(hr_g, torch.randn(b, cfg.noise_dim))
    adv = -d(fake).mean()
    l1 = (fake - target).abs().mean()
    perc = (self.vgg(fake) - self.vgg(target)).abs().mean() if cfg.delta else 0.0
    total = cfg.alpha * (cfg.gamma * l1 + cfg.delta * perc) + cfg.beta * adv
    self.g_opt.zero_grad(set_to_none=True)
    total.backward()
    self.g_opt.step()
