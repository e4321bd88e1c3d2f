"""OUT/index.html (nam_jax/nam/page.py): written with every run, every image it shows on disk,
names escaped; rendered by headless Chromium with every image loaded."""

import json
import pathlib
import re
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from nam_jax import images
from nam_jax.nam import inputs as inputs_lib
from nam_jax.nam import page, report

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser')
# Flags for a closed network, as root, with nothing kept between runs.
_FLAGS = ('--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
          '--disable-background-networking', '--disable-component-update', '--disable-sync',
          '--hide-scrollbars', '--virtual-time-budget=10000')


@pytest.fixture(scope='module')
def run(tmp_path_factory):
  """A small run's folder as infer.py writes it (random candidates, no search): two face
  files, one with an HTML-hostile name, and the aligned faces of the bundled group photo."""
  root = tmp_path_factory.mktemp('page')
  faces = root / 'in'
  faces.mkdir()
  face = np.asarray(Image.open(ROOT / 'tests' / 'data' / 'astronaut_face.png').convert('RGB'))
  images.save_png(faces / 'plain.png', face)
  images.save_png(faces / '<b>bold&.png', face[:, ::-1])
  inp = inputs_lib.resolve(str(faces), data_cfg=None)
  photo = inputs_lib.resolve(str(ROOT / 'examples' / 'photos' / 'group.jpg'), None,
                             align=True)
  n, seeds = len(inp.names), 4
  rng = np.random.default_rng(0)
  out = root / 'out'
  with report.staged(out) as staging:
    for i, part in enumerate((inp, photo)):
      m = len(part.names)
      result = {'hr': rng.uniform(-1, 1, (m, seeds, 64, 64, 3)).astype(np.float32),
                'lr': rng.uniform(-1, 1, (m, seeds, 16, 16, 3)).astype(np.float32),
                'loss': rng.uniform(0.02, 0.2, (m, seeds)).astype(np.float32),
                'history': np.ones((m, seeds, 2), np.float32), 'seconds': 2.0,
                'groups': [[[0, 2], [1], [3]]] * m}
      report.write(staging, part, result, {'prior': 'stylegan', 'seeds': seeds})
      if i == 0:  # Keep the first part's page and JSON beside the second's.
        (staging / 'first.html').write_text((staging / 'index.html').read_text())
        (staging / 'first.json').write_text((staging / 'results.json').read_text())
    report.commit(staging, out)
  del n
  return out


def _sources(text: str) -> list[str]:
  return re.findall(r'<img src="([^"]+)"', text)


@pytest.mark.parametrize('page_name', ['first.html', 'index.html'])
def test_every_image_of_the_page_is_on_disk_and_names_are_escaped(run, page_name):
  text = (run / page_name).read_text()
  srcs = _sources(text)
  summary = json.loads((run / ('first.json' if page_name == 'first.html'
                               else 'results.json')).read_text())
  per_input = 4 + 4  # LR, top, disagreement, grid + 4 candidates in groups.
  composites = sum(1 + bool(c.get('before')) for c in summary['composites'])  # Before, after.
  assert len(srcs) == per_input * len(summary['inputs']) + composites
  for src in srcs:
    assert (run / src).is_file(), src
  assert '<b>' not in text.split('<body>')[1].split('<script>')[0]
  assert page.render(summary) == text  # The page is a pure function of results.json.


@pytest.mark.skipif(CHROMIUM is None, reason='Chromium not installed (.ci/run installs it)')
def test_chromium_renders_the_page_with_every_image_loaded(run, tmp_path):
  dom = subprocess.run([CHROMIUM, *_FLAGS, f'--user-data-dir={tmp_path / "a"}', '--dump-dom',
                        (run / 'index.html').as_uri()], capture_output=True, text=True,
                       timeout=120, check=True).stdout
  loaded = re.search(r'data-images-loaded="(\d+)" data-images-total="(\d+)"', dom)
  assert loaded, dom[:500]
  assert int(loaded[1]) == int(loaded[2]) == len(_sources((run / 'index.html').read_text()))
  shot = tmp_path / 'page.png'
  subprocess.run([CHROMIUM, *_FLAGS, f'--user-data-dir={tmp_path / "b"}',
                  '--window-size=1280,1600', f'--screenshot={shot}',
                  (run / 'index.html').as_uri()], capture_output=True, timeout=120, check=True)
  pixels = np.asarray(Image.open(shot).convert('RGB'))
  assert pixels.shape[:2] == (1600, 1280)
  assert pixels.std() > 20  # Not a blank page: the composite and faces are drawn.
