"""The health wait's reading of uWSGI's stats socket, on a real uWSGI's output.

After a deploy prunes the release the master started in, uWSGI prints its cwd
as leftover bytes with quotes and backslashes unescaped; the health wait must
still see the workers, or a healthy deploy times out and rolls back.
"""

import re
import socket
import threading

from deploy import health
from testing.servers import start_uwsgi, wait_until


def live_stats(tmp_path):
    """Stats bytes of a real uWSGI from myapp.ini, once both workers accept."""
    path = str(tmp_path / "uwsgi.sock")
    env = {"MYAPP_STATS": path, "MYAPP_CONFIG": "testing"}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path}/stats.sqlite"
    server = start_uwsgi(env, health=False, log_dir=str(tmp_path))
    try:
        return wait_until(
            lambda: (data := health.read_stats(path)).count(b'"accepting":1') == 2
            and data,
            timeout=60,
            what="both uWSGI workers accepting",
        )
    finally:
        server.stop()


def serve_once(path, data):
    """A stats socket that answers one connection with data, as uWSGI does."""
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    server.listen(1)

    def answer():
        connection, _ = server.accept()
        connection.sendall(data)
        connection.close()
        server.close()

    threading.Thread(target=answer, daemon=True).start()


def workers_fresh(tmp_path, data, since=0):
    path = str(tmp_path / "served.sock")
    serve_once(path, data)
    return health.workers_fresh(path, since)


def test_workers_are_read_from_a_real_uwsgi(tmp_path):
    status, said = workers_fresh(tmp_path, live_stats(tmp_path))
    assert said == "2/2 workers started after the switch"
    assert status == health.OK


def test_workers_are_read_when_the_cwd_is_printed_as_garbage(tmp_path):
    garbage = b'"cwd":"\x9c\x01"\\q\xff\\"x",\n'
    data = re.sub(rb'"cwd":"[^\n]*\n', lambda _: garbage, live_stats(tmp_path))
    assert garbage in data
    status, said = workers_fresh(tmp_path, data)
    assert said == "2/2 workers started after the switch"
    assert status == health.OK


def test_workers_forked_before_the_switch_are_not_fresh(tmp_path):
    status, said = workers_fresh(tmp_path, live_stats(tmp_path), since=2**40)
    assert said == "0/2 workers started after the switch"
    assert status != health.OK


def test_a_missing_stats_socket_is_not_fresh(tmp_path):
    status, said = health.workers_fresh(str(tmp_path / "none.sock"), 0)
    assert status != health.OK
    assert said.startswith("stats unreadable")
