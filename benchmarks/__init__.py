"""Speed drivers: scripts that print measured figures (docs/benchmarks.md).

Run from the repository, as files or as modules (`python benchmarks/bench_share.py` or
`python -m benchmarks.bench_share`). `isolated` runs one measurement per process; pytorch/
holds the PyTorch twins the comparisons run against.
"""
