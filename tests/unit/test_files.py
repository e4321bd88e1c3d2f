"""nam_jax/files.py: folders checked before anything is written."""

from nam_jax import files


def test_a_folder_is_made_or_the_reason_it_cannot_be_is_one_phrase(tmp_path):
  assert files.writable_folder(tmp_path / 'a' / 'b') is None
  assert (tmp_path / 'a' / 'b').is_dir()
  (tmp_path / 'afile').write_text('mine')
  why = files.writable_folder(tmp_path / 'afile' / 'run')
  assert why == f'{tmp_path / "afile"} is a file, not a folder'
  assert (tmp_path / 'afile').read_text() == 'mine'
  assert files.writable_folder(tmp_path / 'afile') == f'{tmp_path / "afile"} is a file, not a folder'
