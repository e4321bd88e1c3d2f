"""Runs a nam_jax command as a multi-process JAX job on this machine.

  python -m nam_jax.launch --processes=2 -- train.py --stage=progan --workdir=runs/p2
  python -m nam_jax.launch --processes=2 -- infer.py --input=synthetic:test --out=results

Starts N copies of the command, each told the job the way a cluster would tell it
(JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES, JAX_PROCESS_ID; nam_jax/multihost.py) and pinned
to its own share of this machine's cores, so process 0 coordinates on a free local port and
the processes talk over CPU collectives. Process 0 keeps the terminal (its progress bars);
the others' lines are prefixed with [process I]. If one process fails, the others are stopped
and the launcher exits with its code; Ctrl-C stops them all. On a real cluster, start one
process per host with the same variables instead (README, "Several machines").
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time

from nam_jax import cli

ADDRESS_ENV, COUNT_ENV, INDEX_ENV = ('JAX_COORDINATOR_ADDRESS', 'JAX_NUM_PROCESSES',
                                     'JAX_PROCESS_ID')


def free_port() -> int:
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    return s.getsockname()[1]


def core_shares(cores: list[int], n: int) -> list[list[int]]:
  """Contiguous, near-equal shares of `cores` for n processes (shared round-robin when there
  are fewer cores than processes)."""
  if len(cores) < n:
    return [[cores[i % len(cores)]] for i in range(n)]
  base, extra = divmod(len(cores), n)
  out, start = [], 0
  for i in range(n):
    size = base + (i < extra)
    out.append(cores[start:start + size])
    start += size
  return out


def command(args: list[str]) -> list[str]:
  """The command line of each process: a .py script, `-m module` or `-c code` runs with this
  Python; anything else is run as it is."""
  if not args:
    cli.fail('nothing to run; usage: python -m nam_jax.launch --processes=N -- train.py ARGS')
  if args[0].endswith('.py') or args[0] in ('-m', '-c'):
    return [sys.executable, *args]
  return list(args)


def _prefix(stream, label: str, out) -> None:
  for line in iter(stream.readline, b''):
    out.buffer.write(label + line)
    out.flush()
  stream.close()


def _start(cmd: list[str], index: int, count: int, port: int, cores: list[int]):
  env = {**os.environ, ADDRESS_ENV: f'127.0.0.1:{port}', COUNT_ENV: str(count),
         INDEX_ENV: str(index)}
  pin = (lambda: os.sched_setaffinity(0, cores)) if hasattr(os, 'sched_setaffinity') else None
  if index == 0:
    return subprocess.Popen(cmd, env=env, preexec_fn=pin), []
  proc = subprocess.Popen(cmd, env=env, preexec_fn=pin, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE)
  label = f'[process {index}] '.encode()
  threads = [threading.Thread(target=_prefix, args=(s, label, o), daemon=True)
             for s, o in ((proc.stdout, sys.stdout), (proc.stderr, sys.stderr))]
  for t in threads:
    t.start()
  return proc, threads


def _stop(procs, grace: float = 10.0) -> None:
  for p in procs:
    if p.poll() is None:
      p.terminate()
  deadline = time.monotonic() + grace
  for p in procs:
    try:
      p.wait(max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
      p.kill()
      p.wait()


def shell_code(returncode: int) -> int:
  """A child's exit status as a shell reports it: 128 + N for a child killed by signal N
  (Python's returncode is then -N, which sys.exit would turn into 256 - N)."""
  return 128 - returncode if returncode < 0 else returncode


def _how_it_ended(returncode: int) -> str:
  if returncode < 0:
    try:
      name = signal.Signals(-returncode).name
    except ValueError:
      name = f'signal {-returncode}'
    return f'was killed by {name} (exit code {shell_code(returncode)})'
  return f'exited with code {returncode}'


def launch(args: list[str], processes: int, port: int | None = None) -> int:
  """Runs `args` as `processes` processes of one job; returns the exit code (0 when all
  succeed, else the first failure's)."""
  if processes < 1:
    cli.fail(f'--processes must be >= 1, got {processes}')
  cmd = command(args)
  port = port or free_port()
  try:
    cores = sorted(os.sched_getaffinity(0))
  except AttributeError:
    cores = list(range(os.cpu_count() or 1))
  started = []
  try:
    for i, share in enumerate(core_shares(cores, processes)):
      started.append(_start(cmd, i, processes, port, share))
  except OSError as e:  # The command does not exist or cannot run.
    _stop([p for p, _ in started])
    cli.fail(f'cannot run {cmd[0]}: {e.strerror}')
  procs = [p for p, _ in started]
  stopping = []

  def on_signal(signum, frame):  # Ctrl-C or a scheduler's TERM: stop every process.
    stopping.append(signum)
    _stop(procs)

  old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
  code = 0
  try:
    while True:
      codes = [p.poll() for p in procs]
      failed = [(i, c) for i, c in enumerate(codes) if c not in (None, 0)]
      if failed or stopping:
        i, code = failed[0] if failed else (None, -stopping[0])
        if i is not None and any(c is None for c in codes):
          print(f'launch: process {i} {_how_it_ended(code)}; stopping the others',
                file=sys.stderr)
        code = shell_code(code)
        _stop(procs)
        break
      if all(c == 0 for c in codes):
        break
      time.sleep(0.2)
  finally:
    for s, handler in old.items():
      signal.signal(s, handler)
    for _, threads in started:
      for t in threads:
        t.join(timeout=5)
  return code


def main(argv: list[str]) -> None:
  """absl main: argv[1:] is what follows `--` (the command each process runs)."""
  sys.exit(launch(argv[1:], _PROCESSES.value, _PORT.value or None))


if __name__ == '__main__':
  from absl import flags
  _PROCESSES = flags.DEFINE_integer('processes', 2, 'Processes to start.')
  _PORT = flags.DEFINE_integer('port', 0, 'Coordinator port on 127.0.0.1 (default: a free one).')
  cli.run(main)
