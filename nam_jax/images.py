"""Writing images people look at: single PNGs and labelled-free grids of faces."""

from __future__ import annotations

import os
import pathlib
from typing import Sequence

import numpy as np
from PIL import Image


def to_float(image: np.ndarray) -> np.ndarray:
  """uint8 [0, 255] -> float32 [-1, 1]."""
  return np.asarray(image, np.float32) / 127.5 - 1.0


def to_uint8(image: np.ndarray) -> np.ndarray:
  """float [-1, 1] -> uint8 [0, 255] (clipped)."""
  return np.clip((np.asarray(image, np.float32) + 1.0) * 127.5 + 0.5, 0, 255).astype(np.uint8)


def as_uint8(images: np.ndarray) -> np.ndarray:
  """Accepts uint8 images or float images in [-1, 1]; returns uint8."""
  images = np.asarray(images)
  return images if images.dtype == np.uint8 else to_uint8(images)


def as_float(images: np.ndarray) -> np.ndarray:
  """Accepts uint8 images or float images in [-1, 1]; returns float32 in [-1, 1]."""
  images = np.asarray(images)
  return to_float(images) if images.dtype == np.uint8 else images.astype(np.float32)


def upscale(images: np.ndarray, size: int) -> np.ndarray:
  """Nearest-neighbour upscaling (so LR pixels stay visible as blocks in grids)."""
  factor = size // images.shape[-2]
  return images.repeat(factor, axis=-3).repeat(factor, axis=-2) if factor > 1 else images


def grid(rows: Sequence[Sequence[np.ndarray]], cell: int = 64, pad: int = 2) -> np.ndarray:
  """Tiles rows of HWC images (uint8, or float in [-1, 1]) into one uint8 image.

  Images smaller than `cell` are upscaled by nearest neighbour (LR pixels stay visible);
  rows may differ in length and mix image sizes.
  """
  rows = [[upscale(as_uint8(im), cell) for im in r] for r in rows]
  ncols = max(len(r) for r in rows)
  out = np.full((len(rows) * (cell + pad) + pad, ncols * (cell + pad) + pad, 3), 255, np.uint8)
  for i, row in enumerate(rows):
    for j, im in enumerate(row):
      y, x = pad + i * (cell + pad), pad + j * (cell + pad)
      out[y:y + im.shape[0], x:x + im.shape[1]] = im
  return out


def save_png(path: str | os.PathLike, image: np.ndarray) -> None:
  """Writes a PNG atomically (temp file + rename), so a crash never leaves half a file."""
  path = pathlib.Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  tmp = path.with_name(path.name + '.tmp')
  Image.fromarray(as_uint8(image)).save(tmp, format='PNG')
  os.replace(tmp, path)


def framed(image: np.ndarray, colour=(220, 30, 30), width: int = 3) -> np.ndarray:
  """The image (uint8, or float in [-1, 1]) as uint8 with a coloured frame `width` px wide drawn
  over its border (marks a candidate in a grid)."""
  out = as_uint8(image).copy()
  out[:width], out[-width:], out[:, :width], out[:, -width:] = colour, colour, colour, colour
  return out


def label(text: str, size: int = 64) -> np.ndarray:
  """A white size x size tile with `text` (lines split on newlines) in black, for grids."""
  from PIL import ImageDraw
  tile = Image.new('RGB', (size, size), (255, 255, 255))
  ImageDraw.Draw(tile).multiline_text((4, 4), text, fill=(0, 0, 0), spacing=2)
  return np.asarray(tile)
