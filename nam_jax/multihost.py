"""Joining a multi-process JAX job (one process per host, or several on one host).

train.py and infer.py call `join_or_exit()` right after the XLA set-up. A job is multi-process
when one of these says so, in this order:
- the flags --coordinator_address, --num_processes and --process_id;
- the environment variables JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES and JAX_PROCESS_ID
  (what `python -m nam_jax.launch` sets for each process it starts);
- a cluster JAX detects by itself: a Slurm step (srun) or an Open MPI launch (mpirun) with more
  than one task, whose variables give the coordinator, the count and the index.
Otherwise the program runs as one process, exactly as before.

In a joined job `jax.devices()` lists every process's devices and `jax.local_devices()` this
process's. CPU hosts exchange collectives over gloo (XLA's TCP collectives for CPUs); GPU
hosts use NCCL as JAX does by default. Only the first process (`is_primary()`) writes logs,
images and merged results; orbax writes checkpoints as it does for multi-process jobs.
"""

from __future__ import annotations

import os
import sys

ADDRESS_ENV = 'JAX_COORDINATOR_ADDRESS'
COUNT_ENV = 'JAX_NUM_PROCESSES'
INDEX_ENV = 'JAX_PROCESS_ID'
# Set by a scheduler when a step runs several tasks; JAX reads the rest of their variables.
_CLUSTER_COUNTS = ('SLURM_NTASKS', 'OMPI_COMM_WORLD_SIZE')


def define_flags(flags) -> None:
  """The three flags of a multi-process job (absl `flags` module)."""
  flags.DEFINE_string('coordinator_address', None,
                      f'host:port of process 0 in a multi-process job (or ${ADDRESS_ENV}).')
  flags.DEFINE_integer('num_processes', None,
                       f'Processes in the job, one per host usually (or ${COUNT_ENV}).')
  flags.DEFINE_integer('process_id', None, f'This process, 0 .. num_processes - 1 (or '
                       f'${INDEX_ENV}).')


def _int_env(name: str) -> int | None:
  text = os.environ.get(name, '').strip()
  if not text:
    return None
  try:
    return int(text)
  except ValueError:
    raise ValueError(f'${name} must be a whole number, got {text!r}') from None


def plan(address: str | None = None, count: int | None = None, index: int | None = None
         ) -> dict | None:
  """The arguments of jax.distributed.initialize for this process, or None for a
  one-process run. Flags win over the environment; None values are left to JAX's cluster
  detection (Slurm, Open MPI).

  Raises:
    ValueError: an incomplete or inconsistent set (a count without an address, an index out
      of range, ...).
  """
  address = address or os.environ.get(ADDRESS_ENV) or None
  count = count if count is not None else _int_env(COUNT_ENV)
  index = index if index is not None else _int_env(INDEX_ENV)
  cluster = max((_int_env(v) or 0) for v in _CLUSTER_COUNTS)
  if address is None and count is None and index is None:
    return {} if cluster > 1 else None  # {}: JAX detects everything from the scheduler.
  if count is not None and count < 1:
    raise ValueError(f'--num_processes must be >= 1, got {count}')
  if count == 1 and address is None:
    return None
  if address is None and cluster <= 1:
    raise ValueError('a multi-process job needs --coordinator_address (or '
                     f'${ADDRESS_ENV}): host:port of process 0')
  if address is not None and ':' not in address:
    raise ValueError(f'--coordinator_address must be host:port, got {address!r}')
  if index is not None and count is not None and not 0 <= index < count:
    raise ValueError(f'--process_id {index} is outside 0 .. {count - 1} (--num_processes '
                     f'{count})')
  if cluster <= 1 and (count is None or index is None):
    raise ValueError('a multi-process job needs --num_processes and --process_id (or '
                     f'${COUNT_ENV} and ${INDEX_ENV}) besides the coordinator address')
  return {'coordinator_address': address, 'num_processes': count, 'process_id': index}


def join(address: str | None = None, count: int | None = None, index: int | None = None,
         timeout: int = 300) -> bool:
  """Joins the multi-process job the arguments or the environment describe (see `plan`);
  returns whether this is one. Call after nam_jax.devices.configure_host_cpu and before any
  other JAX computation."""
  import jax  # Here, not at the top: flags are checked before JAX starts.
  args = plan(address, count, index)
  if args is None:
    return False
  jax.config.update('jax_cpu_collectives_implementation', 'gloo')
  jax.distributed.initialize(**args, initialization_timeout=timeout)
  if jax.process_count() > 1:
    # The first run of a collective program sets up its gloo context and waits at most
    # about 30 s for the peers (a later run of the same program waited 45 s unharmed).
    # orbax's saves synchronise through this same barrier program: run it once now, while
    # the processes are together. Training steps wait for each other before their first run
    # (nam_jax/training/parallel.py).
    from jax.experimental import multihost_utils
    multihost_utils.sync_global_devices('nam_jax_joined')
  return jax.process_count() > 1


def join_or_exit(flag_values) -> bool:
  """join() from the parsed flags of define_flags; a bad setting ends the program with one
  line (exit 2), as every nam_jax entry point reports bad settings."""
  try:
    return join(flag_values.coordinator_address, flag_values.num_processes,
                flag_values.process_id)
  except ValueError as e:
    print(f'error: {e}', file=sys.stderr)
    sys.exit(2)


def count() -> int:
  import jax  # Here, not at the top: flags are checked before JAX starts.
  return jax.process_count()


def index() -> int:
  import jax  # Here, not at the top: flags are checked before JAX starts.
  return jax.process_index()


def is_primary() -> bool:
  """The process that writes logs, images and merged results (process 0)."""
  import jax  # Here, not at the top: flags are checked before JAX starts.
  return jax.process_index() == 0


# Barriers and votes go through the job's coordination service (the key-value store that
# jax.distributed starts), not through collectives: on CPUs the gloo collectives give up after
# about 30 s of waiting for a peer, and processes legitimately wait longer than that here (one
# prepares data or draws figures while the others wait). Every process calls them in the same
# order, so the call count names each one.
_calls = [0]
WAIT_SECONDS = 24 * 3600


def _client():
  from jax._src import distributed  # The runtime client jax.distributed.initialize made.
  return distributed.global_state.client


def _next_id(name: str) -> str:
  _calls[0] += 1
  return f'nam_jax/{_calls[0]}/{name}'


def barrier(name: str, timeout: float = WAIT_SECONDS) -> None:
  """Waits until every process of the job reaches the barrier `name` (nothing alone)."""
  import jax  # Here, not at the top: flags are checked before JAX starts.
  if jax.process_count() > 1:
    _client().wait_at_barrier(_next_id(name), int(timeout * 1000))


def all_ok(ok: bool, timeout: float = WAIT_SECONDS) -> bool:
  """Whether `ok` holds in every process (each passes its own; a barrier too)."""
  import jax  # Here, not at the top: flags are checked before JAX starts.
  if jax.process_count() == 1:
    return bool(ok)
  key = _next_id('vote')
  client = _client()
  client.key_value_set(f'{key}/{jax.process_index()}', '1' if ok else '0')
  return all(client.blocking_key_value_get(f'{key}/{i}', int(timeout * 1000)) == '1'
             for i in range(jax.process_count()))


def primary_first(fn, name: str):
  """fn() in the first process, then in the others once it is done: work that fills a shared
  cache (rendering a dataset, converting weights) is done once, not raced."""
  if is_primary():
    out = fn()
    barrier(name)
    return out
  barrier(name)
  return fn()


def share(n: int, of: int | None = None, at: int | None = None) -> range:
  """The items of `n` that process `at` (default: this one) of `of` takes: contiguous, sizes
  differing by at most one, the first processes taking the larger shares."""
  import jax  # Here, not at the top: flags are checked before JAX starts.
  of = jax.process_count() if of is None else of
  at = jax.process_index() if at is None else at
  base, extra = divmod(n, of)
  start = at * base + min(at, extra)
  return range(start, start + base + (at < extra))
