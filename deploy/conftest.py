"""Fixtures and hooks of the deploy tests: an sshd on loopback as "the server"."""

import os
import shutil

import pytest

from testing.sshd import SshServer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIGURES = []
HOST_FIGURES = []
FAILOVER_FIGURES = []  # one line per case; the test also writes them as JSON


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "deploy: end-to-end deploy over ssh (select with -m deploy)"
    )
    config.addinivalue_line(
        "markers",
        "hosts: two app hosts in network namespaces behind nginx (-m hosts)",
    )
    config.addinivalue_line(
        "markers",
        "failover: PostgreSQL failing over under load, in network namespaces"
        " (-m failover)",
    )


def pytest_terminal_summary(terminalreporter):
    """Show the measured figures of every switch, even in a quiet run."""
    for title, lines, name in (
        ("deploy figures", FIGURES, "deploy-figures.txt"),
        ("two-host figures", HOST_FIGURES, "hosts-figures.txt"),
        ("failover figures", FAILOVER_FIGURES, "failover-figures.txt"),
    ):
        if not lines:
            continue
        terminalreporter.section(title)
        for line in lines:
            terminalreporter.write_line(line)
        os.makedirs(os.path.join(ROOT, "test-output"), exist_ok=True)
        with open(os.path.join(ROOT, "test-output", name), "w") as out:
            out.write("\n".join(lines) + "\n")


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


@pytest.fixture(scope="session")
def failover_figures():
    """The same, for the failover test (test-output/failover-figures.txt)."""
    return FAILOVER_FIGURES


@pytest.fixture
def host_figures():
    """The same, for the two-host test (test-output/hosts-figures.txt)."""
    return HOST_FIGURES
