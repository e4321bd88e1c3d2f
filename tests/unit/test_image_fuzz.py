"""Property-based: any image file, any size, mode, bit depth, format or truncation is either
converted to a uint8 [16, 16, 3] face input or rejected with BadImageError naming the file."""

import io
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings, strategies as st
from PIL import Image

from nam_jax.data import folder

# (mode, numpy dtype, channels, value range) of the pixel arrays generated per mode.
MODES = {'1': (np.uint8, 0, 2), 'L': (np.uint8, 0, 256), 'LA': (np.uint8, 2, 256),
         'P': (np.uint8, 0, 256), 'RGB': (np.uint8, 3, 256), 'RGBA': (np.uint8, 4, 256),
         'CMYK': (np.uint8, 4, 256), 'I;16': (np.uint16, 0, 65536),
         'I': (np.int32, 0, 2**20), 'F': (np.float32, 0, 0)}
FORMATS = {'PNG': ('1', 'L', 'LA', 'P', 'RGB', 'RGBA', 'I;16'),
           'JPEG': ('L', 'RGB', 'CMYK'), 'TIFF': tuple(MODES), 'BMP': ('1', 'L', 'P', 'RGB'),
           'GIF': ('L', 'P'), 'WEBP': ('RGB', 'RGBA')}
N = int(os.environ.get('NAM_JAX_FUZZ', '200'))


@st.composite
def image_files(draw):
  fmt = draw(st.sampled_from(sorted(FORMATS)))
  mode = draw(st.sampled_from(FORMATS[fmt]))
  dtype, channels, top = MODES[mode]
  h, w = draw(st.integers(1, 96)), draw(st.integers(1, 96))
  rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
  shape = (h, w, channels) if channels else (h, w)
  if mode == 'F':
    x = rng.normal(0, draw(st.sampled_from([1.0, 1e3, 1e30])), shape).astype(np.float32)
    if draw(st.booleans()):
      x.flat[rng.integers(x.size)] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    im = Image.fromarray(x)
  elif mode in ('I', 'I;16'):
    im = Image.fromarray(rng.integers(-top if mode == 'I' else 0, top, shape).astype(dtype))
  elif mode in ('1', 'P', 'LA', 'CMYK'):
    base = {'1': 'L', 'P': 'RGB', 'LA': 'RGBA', 'CMYK': 'RGBA'}[mode]
    chans = {'L': (), 'RGB': (3,), 'RGBA': (4,)}[base]
    x = rng.integers(0, 256, (h, w) + chans, dtype=np.uint8)
    im = Image.fromarray(x).convert(mode)
  else:
    im = Image.fromarray(rng.integers(0, top, shape).astype(dtype))
  assert im.mode == mode, (im.mode, mode)
  buf = io.BytesIO()
  im.save(buf, format=fmt)
  data = buf.getvalue()
  cut = draw(st.sampled_from(['whole', 'whole', 'truncated', 'garbage']))
  if cut == 'truncated':
    data = data[:draw(st.integers(0, len(data) - 1))]
  elif cut == 'garbage':
    at = draw(st.integers(0, len(data) - 1))
    data = data[:at] + bytes(rng.integers(0, 256, draw(st.integers(1, 64)), dtype=np.uint8)) + \
        data[at + 1:]
  return fmt, mode, (h, w), cut, data


def _check(tmp_path, example):
  fmt, mode, (h, w), cut, data = example
  path = tmp_path / f'face.{fmt.lower()}'
  path.write_bytes(data)
  try:
    x = folder.load_image(path, 16)
  except folder.BadImageError as e:
    message = str(e)
    assert message.startswith(str(path)) and '\n' not in message
    if cut == 'whole' and min(h, w) >= 16 and mode != 'F':
      pytest.fail(f'a whole {w}x{h} {mode} {fmt} was rejected: {message}')
    event(f'rejected ({cut})')
    return
  event(f'converted ({cut})')
  assert x.shape == (16, 16, 3) and x.dtype == np.uint8
  if cut == 'whole':  # Garbage bytes can rewrite the declared size (a GIF header).
    assert min(h, w) >= 16  # Smaller images are never upscaled.


@settings(max_examples=N, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(example=image_files())
def test_any_image_file_is_converted_or_rejected_clearly(tmp_path, example):
  _check(tmp_path, example)


@pytest.mark.slow
@settings(max_examples=1000, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(example=image_files())
def test_any_image_file_is_converted_or_rejected_clearly_1000(tmp_path, example):
  _check(tmp_path, example)
