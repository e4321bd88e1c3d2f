"""The notebooks run top to bottom (nbclient, small parameters) and are committed clean."""

import json
import pathlib

import nbformat
import pytest
from nbclient import NotebookClient

REPO = pathlib.Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((REPO / 'notebooks').glob('*.ipynb'))


def test_notebooks_are_committed_without_outputs():
  assert {p.name for p in NOTEBOOKS} >= {'quickstart.ipynb', 'training.ipynb'}
  for path in NOTEBOOKS:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for i, cell in enumerate(nb.cells):
      if cell.cell_type == 'code':
        assert not cell.outputs and cell.execution_count is None, (
            f'{path.name} cell {i} has outputs: clear them before committing '
            '(jupyter nbconvert --clear-output --inplace notebooks/*.ipynb)')


def _run(name: str, overrides: str, timeout: int = 900) -> nbformat.NotebookNode:
  """Executes notebooks/NAME from the repository root, the parameters cell extended by
  `overrides`; returns the executed notebook (a failing cell raises CellExecutionError)."""
  nb = nbformat.read(REPO / 'notebooks' / name, as_version=4)
  params = [c for c in nb.cells if 'parameters' in c.metadata.get('tags', [])]
  assert len(params) == 1, f'{name}: expected one cell tagged "parameters"'
  params[0].source += '\n# Test overrides:\n' + overrides
  NotebookClient(nb, timeout=timeout, kernel_name='python3',
                 resources={'metadata': {'path': str(REPO)}}).execute()
  return nb


def _text(nb) -> str:
  return '\n'.join(o.get('text', '') for c in nb.cells if c.cell_type == 'code'
                   for o in c.outputs if o.get('output_type') == 'stream')


@pytest.mark.slow  # 40 s; infer.py on the shipped checkpoints runs in test_entry_points.py.
def test_quickstart_runs_both_priors_and_the_photo(data_root, tmp_path):
  nb = _run('quickstart.ipynb', f"SEEDS, STEPS = 2, 2\nOUT = '{tmp_path / 'out'}'\n")
  out = tmp_path / 'out'
  bundled = json.loads((out / 'bundled' / 'results.json').read_text())
  photo = json.loads((out / 'photo' / 'results.json').read_text())
  assert bundled['num_inputs'] == 3 and bundled['settings']['seeds'] == 2
  assert photo['num_inputs'] == 3 and len(photo['skipped']) == 1   # examples/photos/group.jpg
  assert (out / 'photo' / 'group_faces.png').is_file()
  other = 'progan' if bundled['settings']['prior'] == 'stylegan' else 'stylegan'
  assert json.loads((out / other / 'results.json').read_text())['settings']['prior'] == other
  text = _text(nb)
  assert 'too small to align' in text and f'{other}: best LR L1 per face' in text
  shown = sum(o.get('output_type') == 'display_data' for c in nb.cells if c.cell_type == 'code'
              for o in c.outputs)
  assert shown >= 3 + 1 + 3 + 6   # bundled grids, contact sheet, photo grids, side by side


@pytest.mark.slow
def test_training_notebook_runs_every_stage(test_config, tmp_path):
  nb = _run('training.ipynb', f"WORKDIR = '{tmp_path / 'runs'}'\nSEEDS, FACES = 2, 2\n")
  runs = tmp_path / 'runs'
  for stage in ('degrade', 'progan'):
    assert (runs / stage / 'export' / 'model.json').is_file()
  assert json.loads((runs / 'infer' / 'results.json').read_text())['num_inputs'] == 2
  table = (runs / 'eval' / 'eval_synthetic.md').read_text()
  assert 'bicubic' in table and 'sr_nam trained' in table
  assert 'fvd_per_stage' in _text(nb)   # The ProGAN cell printed its eval.json.
