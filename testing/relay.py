"""The stream relay (`flask live relay`) as a real process on a unix socket."""

import os
import signal
import socket
import subprocess
import sys

from testing.servers import OUTPUT, ROOT, stop_process, wait_until

FLASK = os.path.join(os.path.dirname(sys.executable), "flask")


class LiveRelay:
    """The relay on `path`, env laid over os.environ; start() again after kill()."""

    def __init__(self, env, path, name="relay"):
        self.env = {**os.environ, "FLASK_APP": "wsgi", **env}
        self.env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        self.path = str(path)
        os.makedirs(OUTPUT, exist_ok=True)
        self.log_path = os.path.join(OUTPUT, f"{name}-{os.getpid()}-{id(self)}.log")
        self.start()

    def start(self):
        with open(self.log_path, "a") as log:
            self.process = subprocess.Popen(
                [FLASK, "live", "relay", "--bind", f"unix:{self.path}"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_until(self._listening, 30, interval=0.1, what="the relay listening")
        return self

    def _listening(self):
        assert self.process.poll() is None, f"the relay exited; see {self.log_path}"
        try:
            with socket.socket(socket.AF_UNIX) as sock:
                sock.connect(self.path)
            return True
        except OSError:
            return False

    def kill(self):
        """SIGKILL, as the kernel's OOM killer or a crash would."""
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def log(self):
        with open(self.log_path) as handle:
            return handle.read()

    def stop(self):
        stop_process(self.process)
