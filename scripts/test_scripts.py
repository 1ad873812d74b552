"""The two commands set themselves up: system packages, and run.sh from a copy."""

import os
import shutil
import subprocess
import tempfile
import time
import urllib.request

from testing.servers import ROOT, free_port, wait_until

SCRIPTS = os.path.join(ROOT, "scripts")


def as_unprivileged(command):
    """The command as a user who cannot install packages."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "nobody", "--"] + command
    return command


def test_a_missing_package_is_named_with_the_command_when_not_root():
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as listing:
        listing.write("# a comment\nbash\nmyapp-no-such-package\n")
        listing.flush()
        os.chmod(listing.name, 0o644)
        done = subprocess.run(
            as_unprivileged(
                [os.path.join(SCRIPTS, "system-packages.sh"), listing.name]
            ),
            capture_output=True,
            text=True,
        )
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "myapp-no-such-package" in lines[0] and "bash " not in lines[0]
    assert (
        "apt-get install -y --no-install-recommends myapp-no-such-package" in lines[0]
    )


def test_the_test_command_and_ci_share_one_package_list():
    for path in ("scripts/test.sh", ".ci/run"):
        with open(os.path.join(ROOT, path)) as handle:
            text = handle.read()
        assert "scripts/system-packages.sh" in text, path
        assert "apt-get install" not in text, f"{path} keeps a list of its own"


def test_run_sh_serves_from_a_fresh_copy_without_building_uwsgi(tmp_path):
    """No compiler on a fresh machine: flask run needs only wheels."""
    copy = tmp_path / "myapp"
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for name in files:
        if os.path.exists(os.path.join(ROOT, name)):
            os.makedirs(copy / os.path.dirname(name), exist_ok=True)
            shutil.copy2(os.path.join(ROOT, name), copy / name)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MYAPP_", "TEST_"))}
    env.pop("DATABASE_URL", None)
    # The machine's Python, not the test venv's.
    env["PYTHON"] = shutil.which("python3", path="/usr/bin:/bin")
    # The path of a machine without a compiler (uWSGI is tested from myapp.ini).
    env["RUN_WITH"] = "flask"
    # The long install first, so the port is chosen just before run.sh binds it.
    setup = [str(copy / "scripts" / "setup.sh"), "requirements.txt", "--without-uwsgi"]
    installed = subprocess.run(setup, cwd=copy, env=env, capture_output=True, text=True)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    port = free_port()
    env["PORT"] = str(port)
    log = open(tmp_path / "run.log", "w")
    process = subprocess.Popen(
        [str(copy / "scripts" / "run.sh")], cwd=copy, env=env, stdout=log, stderr=log
    )
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            assert process.poll() is None, (tmp_path / "run.log").read_text()
            try:
                url = f"http://127.0.0.1:{port}/api/v1/health"
                with urllib.request.urlopen(url, timeout=5) as response:
                    assert response.status == 200
                    break
            except OSError:
                time.sleep(1)
        else:
            raise AssertionError("run.sh did not serve within 10 minutes")
        # The alerts worker runs beside the server...
        wait_until(lambda: " started: " in (tmp_path / "run.log").read_text(), 30)
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
    # ... and stops with it.
    assert " INFO stopped" in (tmp_path / "run.log").read_text()
    assert not (copy / ".venv" / "bin" / "uwsgi").exists()
    assert (copy / "instance" / "myapp.sqlite").exists()
