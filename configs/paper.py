"""The published settings of SR-NAM (and of the seed papers where SR-NAM is silent).

Meant for a GPU; on this project's 2-core CPU use configs/cpu.py. Run:
  python prepare_data.py --config=configs/paper.py
  python train.py --stage=degrade --config=configs/paper.py --workdir=runs/paper_degrade
  python train.py --stage=progan --config=configs/paper.py --workdir=runs/paper_progan
SR-NAM trained its ProGAN for about two weeks on one GTX 1080 Ti (SR-NAM 4.1).
"""

from configs import common


def get_config():
  c = common.base_config()
  c.name = 'paper'
  # Bulat 3.5 / SR-NAM 3.1 used 50k WIDER LR faces (3k for test) and ~180k HR faces; our
  # synthetic stand-in keeps those orders of magnitude.
  c.data.update(hr_train=180_000, hr_test=3_000, lr_train=47_000, lr_test=3_000)

  d = c.degrade
  d.noise_dim = 100                 # SR-NAM 4.1: latent size of the input noise 100.
  d.blocks_per_group = 2            # SR-NAM 3.2 / Bulat 3.3: 12 residual blocks in 6 groups.
  d.gen_widths = (96, 128, 256, 512, 256, 128)  # Not given in the papers (Fig. 4a): our choice.
  d.critic_widths = (64, 64, 128, 128, 256, 256)  # 6 blocks (Bulat Fig. 5): widths ours.
  d.spectral_norm = False           # SR-NAM 3.2 uses gradient penalty; Bulat 3.5 used SN.
  d.alpha, d.beta = 1.0, 0.05       # Bulat 3.5: alpha = 1, beta = 0.05 (SR-NAM eq. 1).
  d.gamma, d.delta = 1.0, 1.0       # SR-NAM eq. 3: weights not published; ours.
  d.perceptual_taps = ("relu2_2", "relu3_3")  # SR-NAM used VGG-19 (not offline): VGG16.
  d.perceptual_size = 64            # Both LR images upsampled to 64x64 before VGG16.
  d.gp_weight = 10.0                # SR-NAM 4.1: lambda = 10.
  d.n_critic = 5                    # SR-NAM 4.1: 5 critic iterations per generator step.
  d.learning_rate, d.b1, d.b2 = 1e-4, 0.0, 0.9  # Bulat 3.5 (SR-NAM 4.1 says "Adam default").
  d.batch_size = 64                 # SR-NAM 4.1.
  d.steps = 500_000                 # SR-NAM 4.1: 500,000 iterations.
  d.eval_every = 10_000

  p = c.progan
  p.latent_dim = 512                # SR-NAM 4.1: latent size 512.
  p.widths = (512, 512, 512, 512, 256)  # Karras 2017 Table 2 widths up to 64x64.
  # SR-NAM 4.1: 10, 20, 20, 20, 50 epochs per resolution, here of 180k faces, half of each
  # stage after the first fading in (pro_gan_pytorch's fade_in_percentage 50).
  p.fade_images = (0, 1_800_000, 1_800_000, 1_800_000, 4_500_000)
  p.stable_images = (1_800_000, 1_800_000, 1_800_000, 1_800_000, 4_500_000)
  p.batch_sizes = (64, 64, 64, 32, 16)  # SR-NAM 4.1: batch size per resolution.
  p.learning_rate, p.b1, p.b2, p.eps = 1e-3, 0.0, 0.99, 1e-8  # pro_gan_pytorch, used by SR-NAM.
  p.drift = 1e-3                    # Karras 2017: epsilon_drift.
  p.ema_decay = 0.999               # pro_gan_pytorch default.

  n = c.nam
  n.steps = 300                     # SR-NAM 4.1: 250-500 iterations.
  n.seeds = 16
  n.prior = 'progan'                # SR-NAM searches its own ProGAN (SR-NAM 3.4).
  return c
