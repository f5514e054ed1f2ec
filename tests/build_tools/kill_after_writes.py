"""Run `python -m analysis.build publish ARGS`, killed with SIGKILL just before its N-th change to the files.

    python tests/kill_after_writes.py N ARGS...

N = 0 never kills: the run ends normally and the number of changes it made is written to the file
named by $KILL_COUNT_FILE.  With $KILL_WRITES_UNDER=DIR only changes inside DIR (but not in DIR/.git)
are counted, so that N can land in the middle of the update of a checkout's files.

A change is what Python asks of the operating system to alter a file or folder: opening a file for
writing, creating, renaming, replacing or removing a file or folder, changing its mode.  Git's own
writes happen in git's processes; the kill lands between them.  This works on any implementation of
publishing, which is the point: the tests make no assumption about where a run can be interrupted.
"""
import builtins
import io
import os
import runpy
import signal
import sys

KILL_AT = int(sys.argv[1])
UNDER = os.path.realpath(os.environ["KILL_WRITES_UNDER"]) if os.environ.get("KILL_WRITES_UNDER") else None
COUNT_FILE = os.environ.get("KILL_COUNT_FILE")
_real_open = builtins.open
changes = 0


def _absolute(path, dir_fd=None) -> str:
    path = os.fsdecode(path)
    if dir_fd is not None and not os.path.isabs(path):
        return os.path.join(os.readlink(f"/proc/self/fd/{dir_fd}"), path)
    return os.path.realpath(os.path.join(os.path.realpath(os.path.dirname(os.path.abspath(path))),
                                         os.path.basename(path)))


def _counted(path) -> bool:
    if UNDER is None:
        return True
    return (path == UNDER or path.startswith(UNDER + os.sep)) and not (
        path == os.path.join(UNDER, ".git") or path.startswith(os.path.join(UNDER, ".git") + os.sep))


def _change(path, dir_fd=None) -> None:
    global changes
    if isinstance(path, int) or not _counted(_absolute(path, dir_fd)):
        return
    changes += 1
    if changes == KILL_AT:
        os.kill(os.getpid(), signal.SIGKILL)


def _wrap(function, *, path_argument=0, writes=lambda *a, **k: True):
    """`function` counting a change to its path argument (the destination of a rename) first."""
    name, folder = ("dst", "dst_dir_fd") if path_argument else ("path", "dir_fd")

    def wrapper(*args, **kwargs):
        if writes(*args, **kwargs):
            _change(args[path_argument] if len(args) > path_argument else kwargs.get(name), kwargs.get(folder))
        return function(*args, **kwargs)
    return wrapper


def _opens_for_writing(file, mode="r", *args, **kwargs) -> bool:
    return any(flag in mode for flag in "wax+")


def _os_open_writes(path, flags, *args, **kwargs) -> bool:
    return bool(flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC))


def _os_open(path, flags, mode=0o777, *, dir_fd=None):
    if _os_open_writes(path, flags):
        _change(path, dir_fd)
    return _real_os_open(path, flags, mode, dir_fd=dir_fd)


builtins.open = io.open = _wrap(_real_open, writes=_opens_for_writing)
_real_os_open = os.open
os.open = _os_open
for name in ("unlink", "remove", "rmdir", "mkdir", "chmod"):
    setattr(os, name, _wrap(getattr(os, name)))
for name in ("replace", "rename"):
    setattr(os, name, _wrap(getattr(os, name), path_argument=1))

try:
    sys.argv = ["analysis.build.publish", *sys.argv[2:]]
    runpy.run_module("analysis.build.publish", run_name="__main__")
finally:
    if COUNT_FILE:
        with _real_open(COUNT_FILE, "w") as handle:
            handle.write(str(changes))
