"""The life of a run folder: who may train in it, what it holds, and what a resume may restore.

    <run>/train.lock         host and PID of the process training in it, while it trains
    <run>/run.json           the settings, seed and data files (written once, checked on --resume)
    <run>/log.csv            one row per epoch (a row marked `partial` for an interrupted one)
    <run>/grids/epoch_NNNN.png, <run>/checkpoints/, <run>/generator.keras, <run>/losses.png

One trainer at a time: `RunFolder.locked()` takes the folder's lock (an flock on
`train.lock`, which the kernel releases when the process dies, however it dies) and
writes the host and PID into it, so a second trainer stops at once with a message
naming the PID. A lock file left by a dead process is taken over with a log line.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import shutil
import socket
import time
from typing import Iterator

from . import runlog
from .atomic import describe_os_error, write_text
from .errors import ConfigError, RunFolderBusy

try:
    import fcntl
except ImportError:  # Windows: the PID in the lock file is checked instead
    fcntl = None

log = logging.getLogger(__name__)

RUN_FILE = "run.json"
LOG_FILE = "log.csv"
LOCK_FILE = "train.lock"
CHECKPOINTS = "checkpoints"
GRIDS = "grids"


class RunFolder:
    """A run folder `path` (as the user gave it): its files, its lock, its checks."""

    def __init__(self, path: str):
        self.path = path
        self._lock_fd: int | None = None
        self._created = False

    def file(self, *names: str) -> str:
        return os.path.join(self.path, *names)

    @property
    def run_file(self) -> str:
        return self.file(RUN_FILE)

    @property
    def log_file(self) -> str:
        return self.file(LOG_FILE)

    @property
    def checkpoint_dir(self) -> str:
        return self.file(CHECKPOINTS)

    def grid_file(self, epoch: int) -> str:
        return self.file(GRIDS, f"epoch_{epoch:04d}.png")

    def has_run(self) -> bool:
        return os.path.isfile(self.run_file)

    # -- before anything is written
    def check_creatable(self) -> None:
        """Fail with a one-line ConfigError if the folder is a file or cannot be created."""
        if os.path.exists(self.path) and not os.path.isdir(self.path):
            raise ConfigError(f"--out {self.path} is a file; give a folder for the run")
        parent = os.path.abspath(self.path)
        while not os.path.exists(parent):
            parent = os.path.dirname(parent)
        problem = None
        if not os.path.isdir(parent):
            problem = f"{parent} is a file, not a folder"
        elif not os.access(parent, os.W_OK | os.X_OK):
            problem = f"{parent} is not writable ({'read-only disk' if _read_only(parent) else 'permission denied'})"
        if problem:
            raise ConfigError(f"cannot create the run folder --out {self.path}: {problem}; "
                              f"choose a folder you can write to")

    def inspect(self, resume: bool, overwrite: bool) -> bool:
        """Check that the folder may be used; returns True if it holds a run to resume.

        A folder holding another run is never overwritten unless `overwrite` is asked
        for, and a run is only resumed from a checkpoint: a run folder without one is
        refused (with `--overwrite` offered) rather than restarted beside its old log.
        """
        self.check_creatable()
        has_run = self.has_run()
        if has_run and overwrite:
            return False
        if has_run and not resume:
            raise ConfigError(
                f"{self.path} already holds a run ({RUN_FILE}); pass --resume to continue it, "
                f"--overwrite to replace it, or choose another --out")
        if has_run:
            from .checkpoints import checkpoint_candidates

            if not checkpoint_candidates(self.checkpoint_dir):
                raise ConfigError(
                    f"{self.path} holds a run ({RUN_FILE}) but no checkpoint to resume from in "
                    f"{self.checkpoint_dir}; pass --overwrite instead of --resume to start it "
                    f"again from scratch (its log and grids are replaced), or choose another --out")
            return True
        others = [n for n in (os.listdir(self.path) if os.path.isdir(self.path) else []) if n != LOCK_FILE]
        if others and not overwrite:
            raise ConfigError(f"{self.path} is not empty and holds no run; choose an empty or new "
                              f"folder for --out")
        return False

    # -- the lock
    @contextlib.contextmanager
    def locked(self) -> Iterator["RunFolder"]:
        """Create the folder if needed and hold its lock; released (and the folder removed
        again if this call created it and nothing was written into it) on the way out."""
        self._create()
        try:
            self._acquire()
        except BaseException:
            self._remove_if_unused()
            raise
        try:
            yield self
        finally:
            self._release()
            self._remove_if_unused()

    def _create(self) -> None:
        self._created = not os.path.isdir(self.path)
        try:
            os.makedirs(self.path, exist_ok=True)
        except OSError as e:
            raise ConfigError(f"cannot create the run folder --out {self.path}: "
                              f"{describe_os_error(e)}; choose a folder you can write to") from e

    def _acquire(self) -> None:
        path = self.file(LOCK_FILE)
        for _ in range(10):  # retried only if the holder removed the file while we opened it
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as e:
                raise ConfigError(f"cannot create the lock file {path}: {describe_os_error(e)}") from e
            previous = _read_holder(fd)
            if not _try_lock(fd, previous):
                os.close(fd)
                raise RunFolderBusy(
                    f"{self.path} is in use: another trainer is training in it "
                    f"({_describe(previous)}, lock file {path}); wait for it to finish or stop it, "
                    f"or choose another --out")
            try:
                same_file = os.fstat(fd).st_ino == os.stat(path).st_ino
            except FileNotFoundError:
                same_file = False
            if not same_file:
                os.close(fd)
                continue
            if previous:
                log.warning("%s: took over the lock left by %s, which is no longer running",
                            self.path, _describe(previous))
            holder = {"host": socket.gethostname(), "pid": os.getpid(),
                      "since": time.strftime("%Y-%m-%d %H:%M:%S")}
            os.ftruncate(fd, 0)
            os.pwrite(fd, (json.dumps(holder) + "\n").encode(), 0)
            self._lock_fd = fd
            return
        raise RunFolderBusy(f"{self.path}: could not take the lock file {path}; try again")

    def _release(self) -> None:
        if self._lock_fd is None:
            return
        with contextlib.suppress(OSError):
            os.remove(self.file(LOCK_FILE))  # removed while still held: no one can take a stale copy
        os.close(self._lock_fd)
        self._lock_fd = None

    def _remove_if_unused(self) -> None:
        if not self._created or not os.path.isdir(self.path):
            return
        if not any(files for _, _, files in os.walk(self.path)):
            shutil.rmtree(self.path, ignore_errors=True)

    # -- changing what is inside (only while locked)
    def clear(self) -> None:
        """Delete everything but the lock (for --overwrite)."""
        for name in os.listdir(self.path):
            if name == LOCK_FILE:
                continue
            target = self.file(name)
            if os.path.isdir(target) and not os.path.islink(target):
                shutil.rmtree(target)
            else:
                os.remove(target)

    def write_settings(self, text: str) -> None:
        write_text(self.run_file, text)

    def log_rows_through(self, step: int) -> list[dict]:
        """The log rows up to the restored checkpoint's `step`; later rows (work since lost) are dropped."""
        rows = runlog.read_log(self.log_file)
        kept = [r for r in rows if int(r["step"]) <= step]
        if len(kept) != len(rows):
            runlog.write_log(self.log_file, kept)
        return kept


def _read_holder(fd: int) -> dict:
    try:
        return json.loads(os.pread(fd, 4096, 0).decode() or "{}")
    except (OSError, ValueError):
        return {}


def _try_lock(fd: int, holder: dict) -> bool:
    """Take the lock on `fd`; False if a live process holds it."""
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False
        except OSError as e:  # a filesystem without flock: judge by the PID below
            if e.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL):
                raise
    if not holder or holder.get("host") != socket.gethostname():
        return not holder
    return not _alive(int(holder.get("pid", 0)))


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _describe(holder: dict) -> str:
    if not holder:
        return "a process that left no PID"
    return f"PID {holder.get('pid')} on {holder.get('host')}, since {holder.get('since')}"


def _read_only(path: str) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False
