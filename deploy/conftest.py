"""Fixtures for the end-to-end deploy test: an sshd on loopback as "the server"."""

import os
import shutil
import socket
import subprocess
import time

import pytest

from testing.servers import free_port

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIGURES = []
HOST_FIGURES = []


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "deploy: end-to-end deploy over ssh (select with -m deploy)"
    )
    config.addinivalue_line(
        "markers",
        "hosts: two app hosts in network namespaces behind nginx (-m hosts)",
    )


def pytest_terminal_summary(terminalreporter):
    """Show the measured figures of every switch, even in a quiet run."""
    for title, lines, name in (
        ("deploy figures", FIGURES, "deploy-figures.txt"),
        ("two-host figures", HOST_FIGURES, "hosts-figures.txt"),
    ):
        if not lines:
            continue
        terminalreporter.section(title)
        for line in lines:
            terminalreporter.write_line(line)
        os.makedirs(os.path.join(ROOT, "test-output"), exist_ok=True)
        with open(os.path.join(ROOT, "test-output", name), "w") as out:
            out.write("\n".join(lines) + "\n")


def keygen(path):
    subprocess.run(
        [
            "ssh-keygen",
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            "deploy-test",
            "-f",
            path,
        ],
        check=True,
    )


class SshServer:
    """A throwaway sshd on a loopback port that only knows one throwaway key.

    For a host in a network namespace: its address and port, the command
    prefix that runs sshd there, and the client key and known_hosts file
    shared by all the hosts of one test (each host key is added to it).
    """

    def __init__(
        self,
        base,
        address="127.0.0.1",
        port=None,
        prefix=(),
        key=None,
        known_hosts=None,
        environment=None,
    ):
        self.dir = os.path.join(base, "ssh")
        os.makedirs(self.dir, mode=0o700)
        self.address = address
        self.port = port or free_port()
        self.user = subprocess.check_output(["id", "-un"], text=True).strip()
        self.key = key or os.path.join(self.dir, "client_key")
        self.known_hosts = known_hosts or os.path.join(self.dir, "known_hosts")
        keygen(os.path.join(self.dir, "host_key"))
        if not key:
            keygen(self.key)
        shutil.copy(self.key + ".pub", os.path.join(self.dir, "authorized_keys"))
        with open(os.path.join(self.dir, "host_key.pub")) as pub:
            host_key = " ".join(pub.read().split()[:2])
        # ssh names a host on port 22 by its address alone.
        name = address if self.port == 22 else f"[{address}]:{self.port}"
        with open(self.known_hosts, "a") as out:
            out.write(f"{name} {host_key}\n")
        config = os.path.join(self.dir, "sshd_config")
        with open(config, "w") as out:
            out.write(
                f"Port {self.port}\nListenAddress {address}\n"
                f"HostKey {self.dir}/host_key\nPidFile {self.dir}/sshd.pid\n"
                f"AuthorizedKeysFile {self.dir}/authorized_keys\n"
                "PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
                "PubkeyAuthentication yes\nPermitRootLogin prohibit-password\n"
                # The key lives under /tmp, which StrictModes would refuse.
                "StrictModes no\nUsePAM no\nLogLevel ERROR\nMaxStartups 50\n"
            )
            if environment:
                pairs = " ".join(f"{k}={v}" for k, v in environment.items())
                out.write(f"SetEnv {pairs}\n")
        if os.geteuid() == 0:
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        self.log = open(os.path.join(self.dir, "sshd.log"), "w")
        self.process = subprocess.Popen(
            [*prefix, "/usr/sbin/sshd", "-D", "-e", "-f", config],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.wait_listening()

    def wait_listening(self):
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"sshd exited; see {self.log.name}")
            try:
                socket.create_connection((self.address, self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("sshd did not listen within 15 s")

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)
        self.log.close()


@pytest.fixture(scope="session")
def ssh_server(tmp_path_factory):
    for tool in ("/usr/sbin/sshd", "ssh", "rsync", "git"):
        if not shutil.which(tool):
            pytest.fail(f"{tool} is missing: run deploy/check.sh once to install it")
    server = SshServer(str(tmp_path_factory.mktemp("deploy")))
    yield server
    server.stop()


@pytest.fixture
def deploy_figures():
    """Lines appended here are printed at the end of the run and saved."""
    return FIGURES


@pytest.fixture
def host_figures():
    """The same, for the two-host test (test-output/hosts-figures.txt)."""
    return HOST_FIGURES
