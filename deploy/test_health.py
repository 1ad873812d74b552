"""deploy/health.py's probe, against a real HTTP server on loopback."""

import http.server
import json
import threading

import pytest

from deploy import health


class Answers(http.server.BaseHTTPRequestHandler):
    """Answers every GET with the status and body the test put on the server."""

    def do_GET(self):
        status, body = self.server.answer
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args):
        """Quiet: the test's output is the assertion."""


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answers)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}/api/v1/health"
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def ok(version):
    return 200, json.dumps({"status": "ok", "version": version})


@pytest.mark.parametrize(
    "answer, want, expected",
    [
        (ok("1.0.0+abc"), "", (health.OK, "1.0.0+abc")),
        (ok("1.0.0+abc"), "1.0.0+abc", (health.OK, "1.0.0+abc")),
        (ok("1.0.0+old"), "1.0.0+new", (health.NOT_OK, "1.0.0+old")),
        ((200, '{"status": "degraded", "version": "1"}'), "", (health.NOT_OK, "1")),
        ((200, "[]"), "", (health.NOT_OK, "")),
        ((503, '{"status": "down"}'), "", (health.NOT_OK, "answered 503")),
    ],
)
def test_a_probe_is_ok_only_for_an_ok_answer_naming_the_wanted_version(
    server, answer, want, expected
):
    server.answer = answer
    assert health.probe(server.url, want) == expected


def test_a_probe_of_nothing_listening_is_silence():
    port = health.free_port()
    status, said = health.probe(f"http://127.0.0.1:{port}/api/v1/health")
    assert status == health.SILENT
    assert said.startswith("no answer")


def test_the_command_line_prints_the_version_and_exits_with_the_status(server, capsys):
    server.answer = ok("2.0.0+def")
    assert health.main(["probe", server.url, "2.0.0+xyz"]) == health.NOT_OK
    assert health.main(["probe", server.url]) == health.OK
    assert capsys.readouterr().out == "2.0.0+def\n2.0.0+def\n"
    assert health.main(["nonsense"]) == 64
