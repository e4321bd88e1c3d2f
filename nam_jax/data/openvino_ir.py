"""Compiling the random-face wheel's OpenVINO IR the same way on every CPU.

OpenVINO's CPU plugin computes in bfloat16 by default on CPUs with native bf16 (AVX-512 BF16,
AMX): the mapping network's styles then move by 0.03 and a rendered face by up to 9 grey
levels, so "seed S is always the same face" and the port tests would depend on the machine.
Every compilation in nam_jax goes through `compile_f32`, which asks for f32 inference.

Importing openvino starts its telemetry, which forks a process from a thread; in a process
where JAX already runs that fork can deadlock. nam_jax therefore converts the weights in a
child process of its own (nam_jax.stylegan.convert.ensure_converted) and renders synthetic faces
before JAX is needed (prepare_data.py).
"""

from __future__ import annotations

import pathlib

F32 = {'INFERENCE_PRECISION_HINT': 'f32'}


def compile_f32(core, model_or_path):
  """`core.compile_model` on the CPU with f32 inference, whatever the CPU supports."""
  if isinstance(model_or_path, (str, pathlib.Path)):
    model_or_path = core.read_model(str(model_or_path))
  return core.compile_model(model_or_path, 'CPU', F32)


def precision(compiled) -> str:
  """The inference precision a compiled model runs at ('f32', 'bf16', ...)."""
  return compiled.get_property('INFERENCE_PRECISION_HINT').get_type_name()
