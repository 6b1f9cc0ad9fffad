"""Communicators for data-parallel training, and the sharded step the floors above consult.

``world()`` is the process's communicator: :class:`SingleProcess` (no-op collectives) unless the process
was started by an MPI launcher (``mpiexec``, ``srun``), then :class:`MPIComm` over mpi4py. mpi4py is
imported only then. :class:`LoopbackGroup` runs R ranks as threads of one process, for tests.

During a data-parallel step the trainer enters :func:`sharded`: rank ``r`` holds rows ``start:stop``
of a global batch of ``total`` rows. Losses then make their divisors global (:func:`global_counts`),
random layers draw the global batch's numbers and keep their rows (:func:`draw_rows`), and weight
penalties count once, on rank 0 (:func:`counts_replicated_terms`). Outside a step every helper returns
what one process computes.
"""
import contextlib
import os
import sys
import threading

import numpy as _np

# Set by mpiexec/mpirun (MPICH, Intel MPI: PMI_*; Open MPI: OMPI_*; PMIx launchers and srun --mpi=pmix).
LAUNCHER_VARIABLES = ("PMI_SIZE", "PMI_RANK", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK")


class SingleProcess:
    """One rank: every collective returns its input."""

    rank, size = 0, 1
    shares_process = False

    def allreduce(self, buffer):
        return buffer

    def allreduce_small(self, values):
        return _np.asarray(values, dtype=_np.float64)

    def bcast(self, obj, root=0):
        return obj

    def bcast_arrays(self, arrays, root=0):
        return arrays

    def abort(self, code=1):
        raise SystemExit(code)


class MPIComm:
    """MPI_COMM_WORLD through mpi4py: sums run in MPI (in place on float32 buffers)."""

    shares_process = False

    def __init__(self):
        from mpi4py import MPI

        self._mpi = MPI
        self._comm = MPI.COMM_WORLD
        self.rank = self._comm.Get_rank()
        self.size = self._comm.Get_size()

    def allreduce(self, buffer):
        """Sum a contiguous array across ranks, in place; returns it."""
        self._comm.Allreduce(self._mpi.IN_PLACE, buffer, op=self._mpi.SUM)
        return buffer

    def allreduce_small(self, values):
        """Sum a few numbers across ranks (float64); returns a new array."""
        out = _np.array(values, dtype=_np.float64).reshape(-1)
        self._comm.Allreduce(self._mpi.IN_PLACE, out, op=self._mpi.SUM)
        return out

    def bcast(self, obj, root=0):
        return self._comm.bcast(obj, root=root)

    def bcast_arrays(self, arrays, root=0):
        """Overwrite each array with root's, in place."""
        for a in arrays:
            self._comm.Bcast(a, root=root)
        return arrays

    def abort(self, code=1):
        self._comm.Abort(code)


class LoopbackGroup:
    """R ranks in one process, one thread each: collectives meet at a barrier and sum in rank order, so
    every rank gets the same bits. ``run(fn)`` calls ``fn(comm)`` on every rank and returns the results.
    The threads share the process's global state (the engine's no_grad flag, the global RNGs), so what
    runs on them must not depend on it: tests run fit without validation, with seeded random layers."""

    def __init__(self, size):
        self.size = size
        self._barrier = threading.Barrier(size)
        self._slots = [None] * size

    def exchange(self, rank, value):
        self._slots[rank] = value
        self._barrier.wait()
        values = list(self._slots)
        self._barrier.wait()
        return values

    def run(self, fn):
        results, errors = [None] * self.size, []

        def target(rank):
            comm = Loopback(self, rank)
            try:
                with use_world(comm):
                    results[rank] = fn(comm)
            except BaseException as e:  # noqa: BLE001 - re-raised in the caller
                errors.append(e)
                self._barrier.abort()

        threads = [threading.Thread(target=target, args=(r,)) for r in range(self.size)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        real = [e for e in errors if not isinstance(e, threading.BrokenBarrierError)]
        if real or errors:
            raise (real or errors)[0]
        return results


class Loopback:
    """One rank of a :class:`LoopbackGroup`."""

    shares_process = True  # the global RNGs are shared by the threads: nothing to synchronise

    def __init__(self, group, rank):
        self.group, self.rank, self.size = group, rank, group.size

    def _sum(self, array):
        parts = self.group.exchange(self.rank, array.copy())
        total = parts[0].copy()
        for p in parts[1:]:
            total += p
        return total

    def allreduce(self, buffer):
        buffer[...] = self._sum(buffer)
        return buffer

    def allreduce_small(self, values):
        return self._sum(_np.array(values, dtype=_np.float64).reshape(-1))

    def bcast(self, obj, root=0):
        return self.group.exchange(self.rank, obj)[root]

    def bcast_arrays(self, arrays, root=0):
        source = self.group.exchange(self.rank, [a.copy() for a in arrays])[root]
        for a, s in zip(arrays, source):
            a[...] = s
        return arrays

    def abort(self, code=1):
        self.group._barrier.abort()
        raise SystemExit(code)


# ---------------------------------------------------------------------------------- the world

_local = threading.local()
_process_world = None


def launched_by_mpi():
    """Whether an MPI launcher started this process (or mpi4py already initialized MPI)."""
    if any(v in os.environ for v in LAUNCHER_VARIABLES):
        return True
    mpi = sys.modules.get("mpi4py.MPI")
    return mpi is not None and mpi.Is_initialized()


def world():
    """The communicator of this process (a loopback rank inside :func:`use_world`)."""
    global _process_world
    override = getattr(_local, "world", None)
    if override is not None:
        return override
    if _process_world is None:
        _process_world = MPIComm() if launched_by_mpi() else SingleProcess()
    return _process_world


@contextlib.contextmanager
def use_world(comm):
    """Make ``comm`` this thread's world (loopback tests)."""
    before = getattr(_local, "world", None)
    _local.world = comm
    try:
        yield comm
    finally:
        _local.world = before


def rank():
    return world().rank


def share_random_state(comm):
    """Give every rank rank 0's global RNG states (initializers, dropout, shuffling)."""
    if comm.size == 1 or comm.shares_process:
        return
    import kspec.backend as backend

    state = comm.bcast((backend._generator.bit_generator.state, backend._shuffle_rng.get_state(),
                        backend._seed))
    backend._generator.bit_generator.state = state[0]
    backend._shuffle_rng.set_state(state[1])
    backend._seed = state[2]


# ---------------------------------------------------------------------------------- the sharded step

class Shard:
    """This rank's rows ``start:stop`` of a global batch of ``total`` rows."""

    def __init__(self, comm, start, stop, total):
        self.comm, self.start, self.stop, self.total = comm, start, stop, total


def current():
    """The :class:`Shard` of the step running on this thread, or None."""
    return getattr(_local, "shard", None)


def enter(shard):
    _local.shard = shard


def leave():
    _local.shard = None


def global_counts(*counts):
    """Counts summed over the ranks of the running step (unchanged outside one): one small allreduce."""
    shard = current()
    if shard is None:
        return counts
    return tuple(shard.comm.allreduce_small(counts))


def global_rows(rows):
    """The global batch size when ``rows`` is this rank's share of the running step's batch."""
    shard = current()
    if shard is None or rows != shard.stop - shard.start:
        return rows
    return shard.total


def draw_rows(draw, shape, **kwargs):
    """``draw(shape, **kwargs)`` (an RNG method); in a step whose batch is ``shape[0]`` rows, the global
    batch's numbers are drawn and this rank's rows kept, so every rank sees one process's numbers."""
    shard = current()
    if shard is None or not shape or shape[0] != shard.stop - shard.start or shard.comm.size == 1:
        return draw(shape, **kwargs)
    return draw((shard.total,) + tuple(shape[1:]), **kwargs)[shard.start:shard.stop]


def counts_replicated_terms():
    """False on ranks other than 0 during a step: terms every rank computes alike (weight penalties)
    are counted once, on rank 0, so the summed gradient counts them once."""
    shard = current()
    return shard is None or shard.comm.rank == 0


def batch_allreduce():
    """The small allreduce of the running step (synchronized batch statistics), or None."""
    shard = current()
    return None if shard is None or shard.comm.size == 1 else shard.comm.allreduce_small
