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
      # > 0: the noise must change the output (train.py's diversity term): the weight and the
      # mean L1 between the global statistics of two degradations of one face below which it
      # acts (two 'wide' camera degradations of a face differ by 0.117 on average).
      diversity_weight=0.0, diversity_target=0.08,
      # '' = the data's LR training split; a key of nam_jax/data/camera_sim.MIXES (synthetic
      # data): faces made LR in memory by that mixture of kinds (bicubic, camera strengths,
      # casts).
      lr_mix='',
      n_critic=5,
      learning_rate=1e-4, b1=0.0, b2=0.9,
      batch_size=64,
      steps=500_000,
      log_every=50, image_every=1000, ckpt_every=1000, keep_ckpts=3,
      eval_every=0, eval_samples=500,
  ))

  # Progressive GAN HR generator (SR-NAM 3.3/4.1, Karras 2017).
  c.progan = ml_collections.ConfigDict(dict(
      latent_dim=512,
      widths=(512, 512, 512, 512, 256),  # Feature maps at 4, 8, 16, 32, 64.
      # Images shown per stage (Karras et al. count phases in images): the new block fades
      # in over fade_images (none at 4 px), then the stage stabilises for stable_images.
      fade_images=(0, 1_800_000, 1_800_000, 1_800_000, 4_500_000),
      stable_images=(1_800_000, 1_800_000, 1_800_000, 1_800_000, 4_500_000),
      batch_sizes=(64, 64, 64, 32, 16),
      minutes=0.0,        # > 0: wall-time budget of the last stage (after its fade-in).
      learning_rate=1e-3, b1=0.0, b2=0.99, eps=1e-8,
      gp_weight=10.0, drift=1e-3, n_critic=1,
      ema_decay=0.999,           # Per step, used when ema_half_life_images is 0.
      ema_half_life_images=0,    # > 0: EMA decay 0.5 ** (batch / this), per image shown.
      log_every=50, image_every=500, ckpt_every=500, keep_ckpts=3,
      eval_samples=500,
  ))

  # Baselines: deterministic 16 -> 64 networks trained on (LR, HR) pairs.
  # Low-to-High (Bulat et al. 3.4-3.5): pairs (H2L(HR), HR) from the exported degradation
  # model, hinge GAN (+ GP as our degradation GAN) + L2 pixel loss, alpha = 1, beta = 0.05.
  c.l2h = ml_collections.ConfigDict(dict(
      widths=(256, 128, 64), blocks=(2, 3, 12),  # 17 blocks in groups 2, 3, 12 (Bulat 3.4).
      critic_widths=(64, 64, 128, 128, 256, 256),
      lr_source='h2l', degrader_ckpt='checkpoints/degrade_cpu',
      loss='hinge', gp_weight=10.0, pixel_weight=1.0, adv_weight=0.05,
      n_critic=5, optimizer='adam', learning_rate=1e-4, b1=0.0, b2=0.9, rms_decay=0.99,
      batch_size=64, steps=570_000,
      log_every=50, image_every=1000, ckpt_every=1000, keep_ckpts=3,
  ))
  # URDGN (Yu & Porikli 2016), adapted to 16 -> 64: bicubic pairs, the original GAN loss,
  # lambda = 100 on the pixel L2 (here a mean over pixels, not the paper's sum), RMSprop with
  # learning rate 1e-3 and decay rate 0.01 (optax decay 0.99).
  c.urdgn = ml_collections.ConfigDict(dict(
      widths=(256, 128, 64), critic_widths=(32, 64, 128, 256),
      lr_source='bicubic', degrader_ckpt='',
      loss='bce', gp_weight=0.0, pixel_weight=100.0, adv_weight=1.0,
      n_critic=1, optimizer='rmsprop', learning_rate=1e-3, b1=0.9, b2=0.999, rms_decay=0.99,
      batch_size=64, steps=100_000,
      log_every=50, image_every=1000, ckpt_every=1000, keep_ckpts=3,
  ))

  # The 64 px head of the MobileStyleGAN prior, distilled on the synthetic HR faces.
  # The LR-kind classifier behind --degradation=auto (nam_jax/degrade/lr_kind.py): HR training
  # faces made LR both ways, Adam steps, batch, held-out test faces it is checked on.
  c.lr_kind = ml_collections.ConfigDict(dict(faces=4000, steps=1500, batch_size=128,
                                             held_out=500, log_every=250, ckpt_every=500,
                                             image_every=0, keep_ckpts=2))

  c.stylegan_head = ml_collections.ConfigDict(dict(
      width=64, learning_rate=1e-3, batch_size=16, steps=3000,
      block=True,                 # Fine-tune a copy of layer 2 (16 -> 32 px) with the head.
      block_learning_rate=1e-4,
      # 'constant' or 'cosine' (both rates decayed to a tenth over the run).
      schedule='constant',
      # '' = a fresh head; else an exported head (of this width and kind) to train on from.
      init_ckpt='',
      modulated=True,             # Per-channel style scales on the head's inputs.
      # Training / held-out pairs: faces of the HR split's seeds at data.truncation (0.7) and
      # untruncated (psi 1) faces of their own seed ranges.
      truncated_train=1000, untruncated_train=1500,
      truncated_test=200, untruncated_test=100,
      # '' = none; else a directory of search end points (python -m
      # nam_jax.stylegan.search_points) making up points_share of every batch, the end points
      # of its last points_test_faces faces held out (5: one of each LR kind).
      points='', points_share=0.5, points_test_faces=5,
      perceptual_weight=0.1, perceptual_taps=('relu2_2',),
      log_every=25, image_every=250, ckpt_every=250, keep_ckpts=3,
  ))

  # The coarse head the search's first steps render through (nam_jax/stylegan/train_coarse.py):
  # distilled from the 64 px head of `head_ckpt` ('' = the StyleGAN prior's ckpt) on fresh
  # styles (psi ~ U(psi_min, 1); a w_plus_share of mixed, row-noised W+ latents).
  c.stylegan_coarse = ml_collections.ConfigDict(dict(
      width=128, learning_rate=1e-3, batch_size=32, steps=3000, lr_weight=1.0, psi_min=0.5,
      w_plus_share=0.5, row_noise=0.5, head_ckpt='', held_out=256,
      log_every=25, image_every=500, ckpt_every=250, keep_ckpts=2))

  # The LR-face encoder that starts SR-NAM's search near the answer (nam_jax/stylegan/
  # encoder.py, trained by train_encoder.py on the prior's own faces made LR by `kinds`, one
  # per batch slot in turn). prior_ckpt / h2l_ckpt: '' = the inference blocks' checkpoints.
  c.encoder = ml_collections.ConfigDict(dict(
      widths=(64, 128, 256), dense=512, learning_rate=5e-4, batch_size=16, steps=3000,
      kinds=('bicubic', 'mild', 'bicubic', 'strong', 'bicubic', 'cast', 'defocus', 'bayer',
             'h2l'),
      latent_weight=1.0, pixel_weight=1.0, perceptual_weight=0.0,
      perceptual_taps=('relu2_2',), lr_weight=1.0,
      prior_ckpt='', h2l_ckpt='', test_batches=16,
      # An exported encoder to go on training from ('' = a fresh start); its pairs continue
      # where its own run stopped.
      init_ckpt='',
      log_every=25, image_every=500, ckpt_every=250, keep_ckpts=2,
  ))

  # SR-NAM inference (SR-NAM 3.4/4.1): the one source of inference defaults
  # (nam_jax/nam/settings.py builds a job's settings from here plus overrides).
  c.nam = ml_collections.ConfigDict(dict(
      # learning_rate, noise and sphere: best of the option sweep on the test split (docs/results.md,
      # "Choosing the inference defaults"; docs/nam_sweep.json).
      seeds=16, steps=300, learning_rate=0.1, b1=0.9, b2=0.999,
      coarse_steps=0,  # The first steps through the prior's coarse head (StyleGAN only).
      noise='optimise',  # 'zero' | 'sample' | 'optimise'
      sphere=False, mean_pull=0.0,
      max_batch=64,
      unroll=1,  # Iterations per lax.scan step; rolled is fastest on XLA:CPU (bench_nam.py).
      schedule='constant',  # Learning rate over the steps: 'constant' or 'cosine'.
      # Where candidates start (nam_jax/nam/invert.initial_latents): 'pool' (the closest of
      # start_pool random latents per candidate), 'random', or 'encoder' (the closest of
      # start_pool draws around the prior's LR-face encoder, start_spread x its measured spread),
      # or 'mixed' (pools alternating the two, for an encoder_share of the candidates).
      start='pool', start_pool=1, start_spread=1.0, encoder_share=1.0,
      # Early stopping (0 = off): a candidate stops after stop_patience steps without a
      # stop_tol relative gain, or (stop_behind > 0) when that far behind its input's best.
      stop_patience=0, stop_tol=0.01, stop_behind=0.0,
      # Terms beside the LR L1 (0 = off; nam_jax/nam/invert.objective): the degradation's
      # prior on its fitted free inputs (the camera model's: how far real cameras stray from a
      # neutral rendering; no effect on degradations without one), and the input's colours as
      # an anchor. noise_prior 0.01: on 12 real faces of the two independent camera pipelines
      # used for choosing (defocus, bayer), the top candidate's skin-tone error fell from
      # 27.5 / 25.6 to 8.5 / 12.1 degrees ITA at equal LPIPS (docs/results.md, "Skin tone").
      noise_prior=0.01, colour_anchor=0.0,
      rng_seed=0,
      prior='stylegan',  # Wins on real faces (docs/results.md, "Choosing the default prior").
      # One block per face prior (nam_jax/nam/settings.py, prior_block): `module` with
      # load(ckpt_dir, **own) -> (prior, params, meta); `ckpt`, its default checkpoint (found
      # from the repository when not from the working directory); `ynnpack`, whether its
      # program runs faster with XLA's YNNPACK convolutions on a CPU (nam_jax.devices; the
      # StyleGAN prior's separable and modulated convolutions: 46.8 vs 59.3 ms per
      # candidate-iteration at 16 seeds, docs/benchmarks.md); `solver`, its solver defaults over
      # the shared ones above (stylegan: best of the W/W+ sweep on real faces,
      # docs/sweep_stylegan); `own`, its own options and their defaults (--prior_options);
      # `by_degradation`, solver or own options for one degradation (for 'auto', each of its
      # choices): with a known operator nothing else is free, so W+ fits real faces closer
      # (LR L1 0.066 -> 0.034 on bicubic LR); with the camera's 16 free parameters W+ overfits
      # (docs/results.md, "Fit and ranking").
      priors=ml_collections.ConfigDict(dict(
          progan=dict(module='nam_jax.progan.prior', ckpt='checkpoints/progan_cpu',
                      ynnpack=False, solver=dict(learning_rate=0.1, sphere=False)),
          stylegan=dict(module='nam_jax.stylegan.prior', ckpt='checkpoints/stylegan_head_cpu',
                        # start_pool 16: the cheap start (docs/benchmarks.md, "Speed against
                        # quality"): better LPIPS and identity on all 31 real faces of both sets.
                        ynnpack=True,
                        # A block may set its own default output size (`size`); StyleGAN's
                        # stays 64: its 256 px renders, fitted to the input below 32 px, lost
                        # identity on real faces (docs/benchmarks.md, "The answer at full size").
                        # start 'mixed' with encoder_share 0.5: half of the candidates pick
                        # their start among random latents and draws around the LR-face
                        # encoder's prediction, the other half among random latents only: the
                        # person first more often on real camera-like and held-out faces, with
                        # most of the variety kept (docs/skin_tone.md, "Half of the candidates
                        # near the prediction").
                        solver=dict(learning_rate=0.03, sphere=True, start_pool=16,
                                    start='mixed', encoder_share=0.5),
                        # w_plus: search W+ (one style per modulation) instead of W; spread
                        # (W+ only): loss weight on the spread of the per-layer styles.
                        own=dict(w_plus=False, spread=0.0),
                        # The LR-face encoder the mixed and encoder starts draw around.
                        encoder_ckpt='checkpoints/stylegan_encoder_cpu',
                        by_degradation=dict(bicubic=dict(w_plus=True, spread=1.0))))),
      # What made the LR input: a block of nam.degradations below (docs/results.md, "Choosing
      # the degradation").
      degradation='auto',
      # One block per degradation, loaded as the face priors are (nam_jax/nam/settings.py,
      # degradation_block): `module` with load(ckpt_dir, **own) -> (degradation, weights,
      # meta); `ckpt`, its default checkpoint ('' = none); `own`, its own options and their
      # defaults (--degradation_options); `choices`: a degradation that picks one of these per
      # input (auto: its LR-kind classifier's P(camera) picks the second, the general one;
      # nam_jax/degradations/auto.py).
      degradations=ml_collections.ConfigDict(dict(
          # The H2L network trained with the diversity term on the 'wide' LR mixture
          # (docs/results.md).
          h2l=dict(module='nam_jax.degradations.h2l', ckpt='checkpoints/degrade_wide_cpu'),
          bicubic=dict(module='nam_jax.degradations.operators:load_bicubic'),
          bilinear=dict(module='nam_jax.degradations.operators:load_bilinear'),
          area=dict(module='nam_jax.degradations.operators:load_area'),
          camera=dict(module='nam_jax.degradations.camera'),
          auto=dict(module='nam_jax.degradations.auto', ckpt='checkpoints/lr_kind_cpu',
                    choices=('bicubic', 'camera')))),
      input='examples',  # The bundled example faces.
      out='out',
      limit=0,
      align=False,  # True: image inputs are photos; every face is found and aligned.
      lr_size=0,  # Each input searched at its own size (8-64 px, nam/sizes.py); or one size.
      size=64,  # Output size of the final candidates (64-1024), unless the prior sets its own.
      render_band=32,  # Renders above 64 px: fitted to the input below this size (nam/render.py).
      # Order of an input's candidates (nam/rank.py): 'input' (LR L1 and the tone gap to the
      # input: docs/skin_tone.md), 'fit' or 'blend'.
      rank='input',
      pick='',  # With align: 'FACE:RANK,...', the candidates pasted into the composite.
  ))
  return c
