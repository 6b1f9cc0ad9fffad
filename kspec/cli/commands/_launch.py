"""``kspec train --ranks R``: start ``mpiexec -n R python -m mpi4py -m kspec train ...`` on this machine.

Each rank gets ``cores // R`` BLAS and kspec threads unless the user set them (oversubscribed ranks run
several times slower). ``-m mpi4py`` turns an exception on one rank into a job abort instead of a hang.
"""
import importlib.util
import os
import shutil
import subprocess
import sys

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "KSPEC_NUM_THREADS")


class LaunchError(Exception):
    """--ranks cannot start the job (no MPI launcher, or already under one)."""


def mpiexec_path():
    """The mpiexec beside this Python (the mpich wheel puts it there), else the one on PATH."""
    beside = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    return beside if os.access(beside, os.X_OK) else shutil.which("mpiexec")


def thread_environment(ranks, environ=None):
    """``environ`` with cores // ranks threads per rank for every thread variable the user left unset."""
    env = dict(os.environ if environ is None else environ)
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    per_rank = str(max(1, cores // ranks))
    for name in THREAD_VARIABLES:
        env.setdefault(name, per_rank)
    return env


def launch(ranks, args):
    """Run ``kspec ARGS`` on ``ranks`` processes; returns the exit code."""
    from kspec.backend import comm

    if comm.launched_by_mpi():
        raise LaunchError("--ranks starts mpiexec itself; under mpiexec or srun, leave --ranks out")
    mpiexec = mpiexec_path()
    if mpiexec is None or importlib.util.find_spec("mpi4py") is None:  # found, not imported
        raise LaunchError("--ranks needs MPI (mpi4py and an mpiexec): pip install 'kspec[mpi]'")
    command = [mpiexec, "-n", str(ranks), sys.executable, "-m", "mpi4py", "-m", "kspec", *args]
    return subprocess.call(command, env=thread_environment(ranks))
