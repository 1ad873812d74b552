"""TCP_NODELAY for the connections uWSGI's HTTP router accepts.

Without nginx (MYAPP_SOCKET unset) the router faces the clients: it relays an
answer in 4 KiB writes and never sets TCP_NODELAY, so each answer over 4 KiB
waited for the client's delayed ACK, +40 ms a request on a kept-alive
connection (unbit/uwsgi#2186; a larger http-buffer-size breaks request bodies
over 64 KiB instead). myapp.ini makes the router accept on a shared socket that
the workers inherit; set on that listening socket, TCP_NODELAY is inherited by
every connection accepted from it (Linux). Outside uWSGI nothing happens.
"""

import os
import socket
import stat

try:
    import uwsgi
except ImportError:  # not running under uWSGI
    uwsgi = None

FD_DIRECTORY = "/proc/self/fd"


def set_on_inherited_listeners():
    """Set TCP_NODELAY on every listening TCP socket this process holds; their count."""
    if uwsgi is None or not os.path.isdir(FD_DIRECTORY):
        return 0
    done = 0
    for name in os.listdir(FD_DIRECTORY):
        try:
            if not stat.S_ISSOCK(os.fstat(int(name)).st_mode):
                continue
        except OSError:  # the listing's own descriptor, closed by now
            continue
        done += _set_if_tcp_listener(int(name))
    return done


def _set_if_tcp_listener(fd):
    sock = socket.socket(fileno=fd)
    try:
        tcp = sock.family in (socket.AF_INET, socket.AF_INET6)
        if tcp and sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return 1
        return 0
    finally:
        sock.detach()  # the descriptor stays uWSGI's
