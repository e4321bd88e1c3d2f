"""A setting that trains on a 2-core CPU (no accelerator): each stage in under an hour,
the Progressive GAN in about 2.5 hours.

  python prepare_data.py --config=configs/cpu.py          # ~50 min: 6,500 faces at ~0.4 s
  python train.py --stage=degrade --config=configs/cpu.py --workdir=runs/cpu_degrade
  python train.py --stage=progan --config=configs/cpu.py --workdir=runs/cpu_progan
"""

from configs import common


def get_config():
  c = common.base_config()
  c.name = 'cpu'
  c.data.update(hr_train=4000, hr_test=500, lr_train=1500, lr_test=500)

  d = c.degrade
  d.gen_widths = (16, 32, 48, 64, 48, 32)
  d.blocks_per_group = 2
  d.critic_widths = (32, 32, 64, 64, 96, 96)
  d.gamma, d.delta = 1.0, 0.1
  d.n_critic = 2
  d.learning_rate = 2e-4  # Twice Bulat's 1e-4: ~1k steps here instead of 570k.
  d.batch_size = 32
  d.steps = 1000
  d.log_every, d.image_every, d.ckpt_every = 25, 250, 250
  d.eval_every, d.eval_samples = 0, 500

  p = c.progan
  p.latent_dim = 512
  p.widths = (128, 128, 96, 64, 32)
  # Images shown per phase, spent where steps are cheap. Measured on this 2-core CPU (idle)
  # when the schedule was set: 829 / 129 / 35 / 12 / 7 images/s at 4 / 8 / 16 / 32 / 64 px
  # (with XLA's own convolutions since: 934 / 148 / 52 / 19 / 11,
  # benchmarks/bench_train.py). The 64 px stage fades in
  # over 8k images, then stabilises until the stage has taken `minutes` of wall time, fade-in
  # included (about 2.5 h in all).
  p.fade_images = (0, 40_000, 16_000, 8_000, 8_000)
  p.stable_images = (100_000, 40_000, 16_000, 8_000, 1_000_000)
  p.minutes = 45.0
  p.batch_sizes = (32, 32, 32, 16, 16)
  # Per image shown: the same memory at batch 32 and 16. 10k: what the shipped model's 64 px
  # stage trained with (5k before it; the effect of this change alone was not measured).
  p.ema_half_life_images = 10_000
  p.log_every, p.image_every, p.ckpt_every = 25, 250, 250
  p.eval_samples = 500

  # Baselines: cut to about 15-30 min each on the 2-core CPU (Bulat: 570k steps).
  c.l2h.update(widths=(48, 32, 16), critic_widths=(16, 16, 32, 32, 64, 64), n_critic=1,
               learning_rate=2e-4, batch_size=16, steps=300, log_every=25, image_every=100,
               ckpt_every=100)
  c.urdgn.update(widths=(96, 64, 32), critic_widths=(32, 64, 96, 128), batch_size=16,
                 steps=800, log_every=25, image_every=200, ckpt_every=100)

  c.stylegan_head.update(steps=1500)

  c.nam.update(seeds=16, steps=100, max_batch=64)  # 100: as good as 300 here (docs/results.md).
  return c
