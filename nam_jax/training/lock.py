"""One run per workdir: an exclusive lock held for the whole run.

The lock is an flock on WORKDIR/.lock, so the kernel releases it when the holder exits, however
it ends (kill -9 included): a stale lock cannot block anyone. The file names its holder
(pid, host, start time) for the message a second run gets; a clean exit empties it, so a
non-empty file found unlocked means the previous run was killed, which is said in one line.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os
import pathlib
import socket
import time


class WorkdirBusy(RuntimeError):
  """Another live run holds the workdir."""


@contextlib.contextmanager
def workdir_lock(workdir: str | pathlib.Path, say=print):
  workdir = pathlib.Path(workdir)
  workdir.mkdir(parents=True, exist_ok=True)
  path = workdir / '.lock'
  f = open(path, 'a+')
  try:
    try:
      fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
      f.seek(0)
      holder = f.read().strip() or 'another process'
      raise WorkdirBusy(f'{workdir} is in use by a running job ({holder}); wait for it to '
                        'finish or use another --workdir') from None
    f.seek(0)
    previous = f.read().strip()
    if previous:
      say(f'{workdir}: the previous run ({previous}) ended without releasing it (killed?); '
          'taking over')
    f.seek(0)
    f.truncate()
    f.write(f'pid {os.getpid()} on {socket.gethostname()}, started '
            f'{time.strftime("%Y-%m-%d %H:%M:%S")}')
    f.flush()
    try:
      yield
    finally:  # Any exit but a kill: the lock file says the workdir is free.
      f.seek(0)
      f.truncate()
      f.flush()
  finally:
    f.close()  # Closing releases the flock.


def exclusive(train_fn):
  """Decorates a trainer train(config, workdir, ...) to hold the workdir's lock throughout."""

  @functools.wraps(train_fn)
  def wrapped(config, workdir, *args, **kwargs):
    from nam_jax.training import loop
    with workdir_lock(workdir, loop.say):
      return train_fn(config, workdir, *args, **kwargs)

  return wrapped
