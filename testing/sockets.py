"""Another process's sockets, seen from a test (Linux pidfd_getfd; root here)."""

import ctypes
import os
import socket

SYS_PIDFD_GETFD = 438  # the same number on every Linux architecture (5.6+)
_libc = ctypes.CDLL(None, use_errno=True)


def borrowed_fd(pid, fd):
    """A duplicate, in this process, of descriptor fd of process pid."""
    pidfd = os.pidfd_open(pid)
    try:
        copy = _libc.syscall(SYS_PIDFD_GETFD, pidfd, fd, 0)
        if copy < 0:
            error = ctypes.get_errno()
            raise OSError(error, f"pidfd_getfd({pid}, {fd}): {os.strerror(error)}")
        return copy
    finally:
        os.close(pidfd)


def connection_of(pid, peer):
    """Process pid's TCP socket whose other end is peer (host, port), as a copy."""
    for name in os.listdir(f"/proc/{pid}/fd"):
        if not os.readlink(f"/proc/{pid}/fd/{name}").startswith("socket:"):
            continue
        sock = socket.socket(fileno=borrowed_fd(pid, int(name)))
        try:
            if sock.type == socket.SOCK_STREAM and sock.getpeername()[:2] == peer:
                return sock
        except OSError:  # a listening or unconnected socket has no peer
            pass
        sock.close()
    raise LookupError(f"process {pid} holds no connection from {peer}")
