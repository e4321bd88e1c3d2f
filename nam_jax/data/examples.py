"""Writes the bundled example faces of examples/ (the default input of `python infer.py`):
real, public-domain faces aligned as the training faces are (nam_jax/data/align.py) and cut
at small sizes. `python -m nam_jax.data.examples` wrote them.

  astronaut_16.png      Eileen Collins (NASA, skimage.data.astronaut()), 16 px
  grace_hopper_16.png   Grace Hopper (U.S. Navy, matplotlib's sample_data), 16 px
  grace_hopper_32.png   the same face at 32 px
"""

import pathlib

from PIL import Image

from nam_jax.data import align, real_faces

OUT = pathlib.Path(__file__).resolve().parents[2] / 'examples'
SIZES = {'astronaut': (16,), 'grace_hopper': (16, 32)}


def example_faces():
  """Yields (file name, uint8 face, note) for every bundled example."""
  for photo in real_faces._wheel_photos():
    faces = [f for f in align.find_faces(photo.image) if not f.problem]
    for size in SIZES.get(photo.name, ()):
      yield (f'{photo.name}_{size}.png', align.crop(photo.image, faces[0].quad, size),
             f'{photo.source}, square {faces[0].side:.0f} px')


def main():
  for name, face, note in example_faces():
    Image.fromarray(face).save(OUT / name)
    print(f'wrote {OUT / name} ({note})')


if __name__ == '__main__':
  main()
