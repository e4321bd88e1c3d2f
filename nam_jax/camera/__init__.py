"""One camera model, two uses.

A camera turns a clean face into a small real-world one in a fixed order: tone (gamma, colour
gains, contrast and brightness) -> optical blur -> downsampling -> sensor noise -> JPEG.
- `simulate` draws such a camera per face from seeded ranges and applies it in numpy (Pillow
  resampling and JPEG): it makes the LR training data and the real-face test sets.
- `model` is its differentiable part (tone as gamma + a colour matrix + bias, an anisotropic
  Gaussian blur, bicubic downsampling) with squashed, bounded parameters: SR-NAM's `camera`
  degradation, fitted per candidate. Noise and JPEG are left to the L1 loss.
`simulate.model_camera` expresses a simulated camera in the model's terms and
`model.raw_from_camera` finds the model's parameter vector for it, so a test checks that the
model reproduces the simulator's optics and how many of its cameras lie inside the model's
ranges.
"""
