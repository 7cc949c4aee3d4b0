"""Write files so that a crash never leaves one half-written: write a temporary file, then rename.

A write that fails (disk full, read-only disk, no permission) removes its temporary file,
leaves the earlier version of the file as it was, and raises a one-line StorageError that
names the file and what to do.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from typing import Iterator

from .errors import StorageError

_ADVICE = {
    errno.ENOSPC: "no space left on the disk; free some space there (or choose another folder)",
    errno.EDQUOT: "disk quota exceeded; free some space (or choose another folder)",
    errno.EROFS: "the disk is read-only; choose a folder on a writable disk",
    errno.EACCES: "permission denied; make the folder writable for you or choose another one",
    errno.EPERM: "operation not permitted; make the folder writable for you or choose another one",
    errno.ENOTDIR: "a part of the path is a file, not a folder; choose another path",
    errno.EFBIG: "the file is too large for this disk or your limits",
}


def describe_os_error(e: OSError) -> str:
    """What went wrong and what to do, for a failed write (`e.strerror` when not a known case)."""
    return _ADVICE.get(e.errno, e.strerror or str(e))


def storage_error(path: str, e: BaseException, action: str = "write") -> StorageError:
    """A StorageError naming `path`, for an OSError (or TensorFlow's error) while writing it."""
    if isinstance(e, OSError):
        reason = describe_os_error(e)
    else:  # TensorFlow's errors carry only a message; the reason is its last part
        text = str(getattr(e, "message", e)).strip().splitlines()[0]
        reason = next((advice for code, advice in _ADVICE.items() if os.strerror(code) in text),
                      text.rsplit(";", 1)[-1].strip()[:200])
    return StorageError(f"cannot {action} {path}: {reason}")


@contextlib.contextmanager
def atomic_path(path: str, suffix: str = "") -> Iterator[str]:
    """Yield a temporary path beside `path`; on success it replaces `path` in one rename.

    `suffix` keeps an extension that a writer insists on (Keras wants `.keras`). If the
    writer fails with an OSError, `path` is left as it was and a StorageError names it.
    """
    folder = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=suffix or ".tmp",
                                   dir=folder)
        os.close(fd)
    except OSError as e:
        raise storage_error(path, e) from e
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes files owner-only; give the usual mode
        os.replace(tmp, path)
    except OSError as e:
        raise storage_error(path, e) from e
    finally:
        with contextlib.suppress(OSError):
            os.remove(tmp)


def write_text(path: str, text: str) -> None:
    """Replace `path` with `text` atomically."""
    write_bytes(path, text.encode("utf-8"))


def write_bytes(path: str, data: bytes) -> None:
    """Replace `path` with `data` atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
