"""The hostile cases of reliability round 4, run as a user would meet them; prints what held.

  python benchmarks/hostile_probe.py        # a few minutes on a 2-core CPU

Each case is one of the tests that reproduce it (they failed before the fix) or a live
measurement; the table says, per case, whether the promise holds today:
  merge killed midway, changed input content, disk full (estimated and injected), a
  PermissionError of the job, a user's own .parts, bad compilation-cache entries, an
  all-black input, a killed process's exit code, an --input link loop, output names that do
  not depend on folders, a long one-process run killed midway, and how long a bad flag takes
  to be reported (measured here, JAX's import included).
"""

from __future__ import annotations

import pathlib
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
CASES = (
    ('a merge killed midway keeps every result',
     'tests/multi_process/test_multihost.py::test_a_merge_that_fails_midway_keeps_every_result'),
    ('a fixed input is computed again on resume',
     'tests/end_to_end/test_outputs.py::test_parts_of_inputs_whose_content_changed_are_discarded'),
    ('disk full: checked before, kept during',
     'tests/multi_process/test_multihost.py::test_a_full_disk_keeps_what_was_computed'),
    ('a PermissionError of the job is not an --out problem',
     'tests/end_to_end/test_outputs.py::test_an_error_inside_the_job_is_not_called_an_out_problem'),
    ('a user\'s own .parts is never deleted',
     'tests/end_to_end/test_outputs.py::test_a_users_own_dot_parts_is_never_taken_for_ours'),
    ('a long one-process run keeps each part',
     'tests/multi_process/test_multihost.py::test_a_long_one_process_run_keeps_each_part_as_it_finishes'),
    ('a bad compilation-cache entry is replaced once',
     'tests/unit/test_devices.py::test_a_bad_compilation_cache_entry_is_replaced_once'),
    ('an all-black input never passes',
     'tests/end_to_end/test_outputs.py::test_a_flat_input_never_passes_however_well_it_is_fitted'),
    ('a killed process gives exit code 137',
     'tests/multi_process/test_multihost.py::test_a_killed_process_gives_the_shells_code'),
    ('an --input link loop is named as such',
     'tests/end_to_end/test_outputs.py::test_an_input_link_that_cannot_be_followed_says_why'),
    ('output names never carry the folders',
     'tests/end_to_end/test_outputs.py::test_aligned_faces_of_photos_sharing_a_stem_keep_their_own_names'),
)
BAD_FLAGS = (['--size=63'], ['--pick=x:-1'], ['--seeds=0'])


def run_case(node: str) -> bool:
  proc = subprocess.run([sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider', node],
                        cwd=ROOT, capture_output=True, text=True)
  return proc.returncode == 0


def flag_seconds(args: list[str]) -> tuple[float, int]:
  t0 = time.perf_counter()
  proc = subprocess.run([sys.executable, 'infer.py', *args], cwd=ROOT, capture_output=True,
                        text=True)
  return time.perf_counter() - t0, proc.returncode


def main() -> int:
  held = 0
  print('| case | held |\n| --- | --- |')
  for name, node in CASES:
    ok = run_case(node)
    held += ok
    print(f'| {name} | {"yes" if ok else "NO"} |', flush=True)
  for args in BAD_FLAGS:
    seconds, code = flag_seconds(args)
    ok = code == 2
    held += ok
    print(f'| `infer.py {" ".join(args)}`: one-line error, exit {code}, {seconds:.1f} s | '
          f'{"yes" if ok else "NO"} |', flush=True)
  total = len(CASES) + len(BAD_FLAGS)
  print(f'\n{held} of {total} held')
  return 0 if held == total else 1


if __name__ == '__main__':
  sys.exit(main())
