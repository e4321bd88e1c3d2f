"""Importing pro-gan-pth (PyPI, the PyTorch ProGAN SR-NAM trained) for the benchmarks.

Its widths come from a module function nf(stage), which `load` replaces so both networks
have the config's widths. torchvision is imported by the package only for its data loader and
image saving, which the benchmarks do not use; the torchvision wheels here are built against
another torch, so a stand-in module is installed for that import, and one call that newer
torch changed is adapted.
"""

import sys
import types


def load(widths):
  """pro_gan_pytorch with nf() returning the config's widths (see the module docstring)."""
  if 'torchvision' not in sys.modules:
    tv = types.ModuleType('torchvision')
    tv.utils = types.ModuleType('torchvision.utils')
    unused = lambda *args, **kwargs: None
    tv.utils.save_image = unused
    tv.transforms = types.ModuleType('torchvision.transforms')
    for name in ('Compose', 'RandomHorizontalFlip', 'Resize', 'ToTensor'):
      setattr(tv.transforms, name, unused)
    sys.modules.update({'torchvision': tv, 'torchvision.utils': tv.utils,
                        'torchvision.transforms': tv.transforms})
  import torch
  from pro_gan_pytorch import custom_layers, gan, losses, networks
  networks.nf = lambda stage, **_: int(widths[stage - 1])
  # Written for torch 1.10: newer torch added an argument (the number of spatial dims) to
  # ConvTranspose2d._output_padding, which its first generator block calls.
  base = torch.nn.ConvTranspose2d._output_padding
  custom_layers.EqualizedConvTranspose2d._output_padding = (
      lambda self, inp, size, stride, padding, kernel, dilation=None:
      base(self, inp, size, stride, padding, kernel, 2, dilation))
  return gan, losses, networks


def trainer(cfg, depth: int):
  """pro-gan-pth's ProGAN (EMA generator on) up to `depth`, its WGAN-GP loss and one Adam per
  network, all with the settings of our progan config `cfg`.
  Returns (its gan module, the ProGAN, the loss, generator Adam, critic Adam)."""
  import torch
  gan, losses, networks = load(cfg.widths)
  gen = networks.Generator(depth, 3, cfg.latent_dim, use_eql=True)
  dis = networks.Discriminator(depth, 3, cfg.latent_dim, use_eql=True)
  progan = gan.ProGAN(gen, dis, torch.device('cpu'), use_ema=True, ema_beta=cfg.ema_decay)
  adam = lambda net: torch.optim.Adam(net.parameters(), lr=cfg.learning_rate,
                                      betas=(cfg.b1, cfg.b2), eps=cfg.eps)
  return (gan, progan, losses.WganGP(drift=cfg.drift), adam(progan.gen), adam(progan.dis))
