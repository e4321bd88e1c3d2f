"""The shape every nam_jax config shares; configs/paper.py, cpu.py and test.py fill it in."""

import ml_collections


def base_config() -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.name = 'base'
  c.seed = 0

  # Data. source: 'synthetic' (the embedded default, made by prepare_data.py), 'folder'
  # (hr_folder / lr_folder of images) or 'tfds' (celeb_a HR and wider_face LR).
  c.data = ml_collections.ConfigDict(dict(
      source='synthetic',
      data_dir='',  # '' = $NAM_JAX_DATA/tfds (default ~/.cache/nam_jax/tfds).
      hr_train=0, hr_test=0, lr_train=0, lr_test=0,
      truncation=0.7,  # Style truncation of the synthetic faces (1 = none).
      hr_folder='', lr_folder='',
      hr_size=64, lr_size=16,
      flip=True,
  ))

  # High-to-Low degradation GAN (SR-NAM 3.2, Bulat 3.3).
  c.degrade = ml_collections.ConfigDict(dict(
      noise_dim=100,
      gen_widths=(96, 128, 256, 512, 256, 128),  # 6 groups: 4 pooled, 2 pixel-shuffled.
      blocks_per_group=2,
      critic_widths=(64, 64, 128, 128, 256, 256),  # 6 blocks; max-pool after the last two.
      spectral_norm=False,
      alpha=1.0, beta=0.05, gamma=1.0, delta=0.0,  # l = a(g L1 + d VGG) + b GAN.
      perceptual_taps=('relu2_2',),  # VGG16 layers of the perceptual term.
      perceptual_size=16,  # Images are resized to this before VGG16 (16 = as they are).
      gp_weight=10.0,
      n_critic=5,
      lr=1e-4, b1=0.0, b2=0.9,
      batch_size=64,
      steps=500_000,
      log_every=50, image_every=1000, ckpt_every=1000, keep_ckpts=3,
      eval_every=0, eval_samples=500,
  ))

  # Progressive GAN HR generator (SR-NAM 3.3/4.1, Karras 2017).
  c.progan = ml_collections.ConfigDict(dict(
      latent_dim=512,
      widths=(512, 512, 512, 512, 256),  # Feature maps at 4, 8, 16, 32, 64.
      epochs=(10, 20, 20, 20, 50),
      batch_sizes=(64, 64, 64, 32, 16),
      fade_fraction=0.5,  # Share of each stage (after the first) spent fading in.
      lr=1e-3, b1=0.0, b2=0.99, eps=1e-8,
      gp_weight=10.0, drift=1e-3, n_critic=1,
      ema_decay=0.999,
      log_every=50, image_every=500, ckpt_every=500, keep_ckpts=3,
      eval_samples=500,
  ))

  # SR-NAM inference (SR-NAM 3.4/4.1).
  c.nam = ml_collections.ConfigDict(dict(
      # lr, noise and sphere: best of the option sweep on the test split (README,
      # "Choosing the inference defaults"; benchmarks/eval_nam.py, docs/nam_sweep.json).
      seeds=16, steps=300, lr=0.1, b1=0.9, b2=0.999,
      noise='optimise',  # 'zero' | 'sample' | 'optimise'
      sphere=False, mean_pull=0.0,
      max_batch=64,
      unroll=1,  # Iterations per lax.scan step; rolled is fastest on XLA:CPU (bench_nam.py).
  ))
  return c
