"""Tiny setting for tests and smoke runs: every stage finishes in well under two minutes.

  python train.py --stage=degrade --config=configs/test.py --workdir=/tmp/nam_test_degrade
  python train.py --stage=progan --config=configs/test.py --workdir=/tmp/nam_test_progan
The synthetic datasets it needs (a few dozen faces) are rendered on first use.
"""

from configs import common


def get_config():
  c = common.base_config()
  c.name = 'test'
  c.data.update(hr_train=12, hr_test=4, lr_train=8, lr_test=4)

  d = c.degrade
  d.noise_dim = 8
  d.gen_widths = (4, 4, 8, 8, 8, 4)
  d.blocks_per_group = 1
  d.critic_widths = (4, 4, 8, 8, 8, 8)
  d.gamma, d.delta = 1.0, 0.1
  d.n_critic = 2
  d.batch_size = 4
  d.steps = 6
  d.log_every, d.image_every, d.ckpt_every = 2, 3, 3
  d.eval_every, d.eval_samples = 0, 4

  p = c.progan
  p.latent_dim = 16
  p.widths = (8, 8, 8, 8, 8)
  p.fade_images = (0, 4, 4, 4, 4)       # Three steps per stage, the first fading in.
  p.stable_images = (12, 8, 8, 8, 8)
  p.batch_sizes = (4, 4, 4, 4, 4)
  p.log_every, p.image_every, p.ckpt_every = 1, 2, 2
  p.eval_samples = 4

  c.l2h.update(widths=(8, 8, 4), blocks=(1, 1, 2), critic_widths=(4, 4, 8, 8, 8, 8),
               n_critic=1, batch_size=4, steps=4, log_every=2, image_every=2, ckpt_every=2,
               degrader_ckpt='')  # Tests pass an exported test-size degrader.
  c.urdgn.update(widths=(8, 8, 4), critic_widths=(4, 8), batch_size=4, steps=4, log_every=2,
                 image_every=2, ckpt_every=2)

  c.lr_kind.update(faces=8, steps=3, batch_size=8, held_out=4, log_every=1, ckpt_every=2)

  c.stylegan_head.update(width=8, batch_size=4, steps=2, log_every=1,
                         truncated_train=4, untruncated_train=2,
                         truncated_test=2, untruncated_test=2,
                         image_every=2, ckpt_every=1, perceptual_weight=0.0)

  c.stylegan_coarse.update(width=8, batch_size=4, steps=3, log_every=1, image_every=2,
                           ckpt_every=2, held_out=4)

  c.encoder.update(widths=(4, 8, 8), dense=16, batch_size=4, steps=3, log_every=1,
                   image_every=2, ckpt_every=2, test_batches=1,
                   kinds=('bicubic', 'mild', 'defocus', 'h2l'))

  # Tests exercise the generic machinery with a tiny ProGAN (tests/unit/test_stylegan.py: the other).
  c.nam.update(seeds=4, steps=6, max_batch=8, unroll=2, prior='progan', degradation='h2l')
  c.nam.priors.stylegan.solver.start_pool = 1  # The cheap start has its own tests.
  return c
