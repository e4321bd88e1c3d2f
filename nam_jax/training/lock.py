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


def _open_locked(path: pathlib.Path, busy):
  """The lock file opened and flocked; the path is re-checked after locking, so a file another
  holder unlinked on its way out is never taken for the lock."""
  while True:
    f = open(path, 'a+')
    try:
      fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
      f.seek(0)
      holder = f.read().strip() or 'another process'
      f.close()
      raise busy(holder) from None
    try:
      same = os.stat(path).st_ino == os.fstat(f.fileno()).st_ino
    except FileNotFoundError:
      same = False
    if same:
      return f
    f.close()


@contextlib.contextmanager
def held(path: str | pathlib.Path, busy, say=print, what: str | None = None,
         remove: bool = False):
  """Holds an exclusive flock on the file `path` (created if missing) while the context is
  open. busy(holder) -> the exception raised when a live process holds it; `what` names the
  guarded thing in messages (default: the lock file's folder); remove: delete the lock file
  on a clean exit (a killed holder leaves it, and the next run takes over)."""
  path = pathlib.Path(path)
  what = what or str(path.parent)
  f = _open_locked(path, busy)
  try:
    f.seek(0)
    previous = f.read().strip()
    if previous:
      say(f'{what}: the previous run ({previous}) ended without releasing it '
          '(killed?); taking over')
    f.seek(0)
    f.truncate()
    f.write(f'pid {os.getpid()} on {socket.gethostname()}, started '
            f'{time.strftime("%Y-%m-%d %H:%M:%S")}')
    f.flush()
    try:
      yield
    finally:  # Any exit but a kill: the lock file says the workdir is free (or is gone).
      if remove:
        path.unlink(missing_ok=True)
      else:
        f.seek(0)
        f.truncate()
        f.flush()
  finally:
    f.close()  # Closing releases the flock.


@contextlib.contextmanager
def workdir_lock(workdir: str | pathlib.Path, say=print):
  workdir = pathlib.Path(workdir)
  workdir.mkdir(parents=True, exist_ok=True)

  def busy(holder):
    return WorkdirBusy(f'{workdir} is in use by a running job ({holder}); wait for it to '
                       'finish or use another --workdir')
  with held(workdir / '.lock', busy, say):
    yield


def exclusive(train_fn):
  """Decorates a trainer train(config, workdir, ...) to hold the workdir's lock throughout
  (held by the first process of a multi-process job for all of them)."""

  @functools.wraps(train_fn)
  def wrapped(config, workdir, *args, **kwargs):
    from nam_jax import multihost
    from nam_jax.training import loop
    if not multihost.is_primary():
      return train_fn(config, workdir, *args, **kwargs)
    with workdir_lock(workdir, loop.say):
      return train_fn(config, workdir, *args, **kwargs)

  return wrapped
