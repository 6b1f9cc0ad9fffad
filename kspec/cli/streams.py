"""The command line's standard streams and Ctrl-C, made robust (standard library only: imported first).

* Ctrl-C before a command starts ends kspec at once with exit 130 and one line, never a traceback
  (:func:`guard_startup`, called at the top of ``kspec.cli.main``); once a command runs it is a
  KeyboardInterrupt that the command group turns into exit 130.
* A closed standard stream (``2>&-``, ``>&-``, ``<&-``) gets /dev/null on its file descriptor, so no file
  kspec opens later can land on fd 0-2 (a model file that HDF5's error printer would write into).
* stderr is only for progress and messages: a closed or failing one (``2>/dev/full``, a log on a full
  disk) never stops a run. Its output is dropped, with one note where that is still possible.
* stdout carries results: writing to a closed or full one raises OSError naming ``<stdout>`` (exit 1);
  a reader that went away (EPIPE) is the command group's BrokenPipeError (exit 141).
"""
import errno
import os
import signal
import sys

EXIT_INTERRUPTED = 130


def started_as_program():
    """Whether this process is the ``kspec`` command (the console script or ``python -m kspec``), not a
    Python program that imports the CLI (whose Ctrl-C is its own)."""
    path = sys.argv[0] if sys.argv and sys.argv[0] else ""
    return os.path.basename(path) in ("kspec", "kspec.exe") or path.endswith(os.path.join("kspec", "__main__.py"))


def guard_startup():
    """Ctrl-C during start-up (importing click, parsing): exit 130 with one line, no traceback."""
    try:
        signal.signal(signal.SIGINT, _startup_interrupt)
    except (ValueError, OSError):  # not the main thread, or no signals here
        pass


def _startup_interrupt(signum, frame):
    try:
        os.write(2, b"kspec: interrupted\n")
    except OSError:
        pass
    os._exit(EXIT_INTERRUPTED)


def interrupts_raise():
    """From here on Ctrl-C raises KeyboardInterrupt (the command's code cleans up, then exit 130)."""
    try:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    except (ValueError, OSError):
        pass


def prepare():
    """Reserve closed fds 0-2 and install the tolerant stderr and the checked stdout."""
    closed = set()
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            closed.add(fd)
            try:
                null = os.open(os.devnull, os.O_RDONLY if fd == 0 else os.O_WRONLY)
                if null != fd:
                    os.dup2(null, fd)
                    os.close(null)
            except OSError:
                pass
    if 0 in closed:
        sys.stdin = None  # read_input says "standard input is closed"
    if 1 in closed or sys.stdout is None:
        sys.stdout = ClosedStream("<stdout>")
    elif not isinstance(sys.stdout, (CheckedStdout, ClosedStream)):
        sys.stdout = CheckedStdout(sys.stdout)
    if not isinstance(sys.stderr, TolerantStream):
        sys.stderr = TolerantStream(None if (2 in closed or sys.stderr is None) else sys.stderr)


class TolerantStream:
    """stderr that never raises: writes go straight to the file descriptor; once one fails (EBADF,
    ENOSPC, EPIPE, EIO) the rest of the output is dropped, after one note if that still gets through."""

    def __init__(self, inner):
        self.inner = inner
        self.fd = None
        if inner is not None:
            try:
                inner.flush()
                self.fd = inner.fileno()
            except (OSError, ValueError, AttributeError):
                self.fd = None
        self.dropped = inner is None
        self.encoding = getattr(inner, "encoding", None) or "utf-8"
        self.errors = "backslashreplace"

    def write(self, text):
        if isinstance(text, (bytes, bytearray)):
            text = bytes(text).decode(self.encoding, "replace")
        if self.dropped or not text:
            return len(text or "")
        data = text.encode(self.encoding, self.errors)
        try:
            if self.fd is None:
                self.inner.write(text)
                self.inner.flush()
            else:
                while data:
                    data = data[os.write(self.fd, data):]
        except (OSError, ValueError) as e:
            self._drop(e)
        return len(text)

    def _drop(self, error):
        self.dropped = True
        reason = os.strerror(error.errno) if getattr(error, "errno", None) else str(error)
        if self.fd is not None and getattr(error, "errno", None) not in (errno.EBADF, errno.EPIPE):
            try:
                os.write(self.fd, f"\nkspec: note: stderr failed ({reason}); progress and messages "
                                  f"are dropped from here on\n".encode())
            except OSError:
                pass

    def flush(self):
        pass

    def isatty(self):
        try:
            return self.fd is not None and os.isatty(self.fd)
        except OSError:
            return False

    def fileno(self):
        if self.fd is None:
            raise OSError(errno.EBADF, "stderr is closed")
        return self.fd

    def writable(self):
        return True

    @property
    def closed(self):
        return False

    @property
    def buffer(self):
        return _TolerantBuffer(self)


class _TolerantBuffer:
    def __init__(self, stream):
        self.stream = stream

    def write(self, data):
        self.stream.write(bytes(data).decode(self.stream.encoding, "replace"))
        return len(data)

    def flush(self):
        pass


class ClosedStream:
    """A closed stdout: every write raises OSError(EBADF) naming ``<stdout>``."""

    encoding = "utf-8"

    def __init__(self, name):
        self.name = name

    def _fail(self, *args, **kwargs):
        raise OSError(errno.EBADF, "standard output is closed, so the results cannot be written", self.name)

    write = fileno = _fail

    def flush(self):
        pass  # nothing is ever buffered; the write that failed has been reported

    def isatty(self):
        return False

    @property
    def buffer(self):
        return self

    closed = True


class CheckedStdout:
    """stdout whose write errors name it (``<stdout>: cannot write the results (No space left on
    device)``); everything else is the wrapped stream's."""

    def __init__(self, inner, binary=False):
        self._inner = inner
        self._binary = binary

    def write(self, data):
        try:
            return self._inner.write(data)
        except OSError as e:
            raise stdout_errors(e) from None

    def flush(self):
        try:
            return self._inner.flush()
        except OSError as e:
            raise stdout_errors(e) from None

    @property
    def buffer(self):
        return CheckedStdout(self._inner.buffer, binary=True)

    def __getattr__(self, name):
        return getattr(self._inner, name)


def stdout_errors(e):
    """An OSError from writing results, named after stdout (``<stdout>: No space left on device``)."""
    if isinstance(e, BrokenPipeError) or getattr(e, "filename", None):
        return e
    return OSError(e.errno, f"cannot write the results ({e.strerror or e})", "<stdout>")
