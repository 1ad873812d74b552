"""Fixtures and hooks of the deploy tests: an sshd on loopback as "the server"."""

import os
import shutil

import pytest

from testing.sshd import SshServer

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
