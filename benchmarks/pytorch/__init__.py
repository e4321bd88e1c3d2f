"""PyTorch twins of nam_jax's networks and the PyTorch ProGAN SR-NAM trained, for the
speed and quality comparisons (requirements-bench.txt). Run as modules:
`python -m benchmarks.pytorch.compare_pro_gan_pth`."""
