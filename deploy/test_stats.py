"""remote.sh's reading of uWSGI's stats socket, on a real uWSGI's output.

After a deploy prunes the release the master started in, uWSGI prints its cwd
as leftover bytes with quotes and backslashes unescaped; the health wait must
still see the workers, or a healthy deploy times out and rolls back.
"""

import os
import re
import socket
import subprocess
import sys
import threading

from testing.servers import start_uwsgi, wait_until

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REMOTE = os.path.join(ROOT, "deploy", "remote.sh")


def stats_reader():
    """The Python that remote.sh's workers_fresh runs, taken from the script."""
    text = open(REMOTE).read()
    return re.search(r"workers_fresh\(\).*?<<'EOF'\n(.*?)\nEOF\n", text, re.S)[1]


def read_stats(path):
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(path)
        return b"".join(iter(lambda: sock.recv(65536), b""))


def live_stats(tmp_path):
    """Stats bytes of a real uWSGI from myapp.ini, once both workers accept."""
    path = str(tmp_path / "uwsgi.sock")
    env = {"MYAPP_STATS": path, "MYAPP_CONFIG": "testing"}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path}/stats.sqlite"
    server = start_uwsgi(env, health=False, log_dir=str(tmp_path))
    try:
        return wait_until(
            lambda: (data := read_stats(path)).count(b'"accepting":1') == 2 and data,
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


def workers_fresh(tmp_path, data):
    path = str(tmp_path / "served.sock")
    serve_once(path, data)
    return subprocess.run(
        [sys.executable, "-", path, "0"],
        input=stats_reader(),
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_workers_are_read_from_a_real_uwsgi(tmp_path):
    run = workers_fresh(tmp_path, live_stats(tmp_path))
    assert run.stdout.strip() == "2/2 workers started after the switch"
    assert run.returncode == 0


def test_workers_are_read_when_the_cwd_is_printed_as_garbage(tmp_path):
    garbage = b'"cwd":"\x9c\x01"\\q\xff\\"x",\n'
    data = re.sub(rb'"cwd":"[^\n]*\n', lambda _: garbage, live_stats(tmp_path))
    assert garbage in data
    run = workers_fresh(tmp_path, data)
    assert run.stdout.strip() == "2/2 workers started after the switch"
    assert run.returncode == 0
