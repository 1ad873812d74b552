"""The lock files agree with the top-level pins and with each other.

The server installs requirements.lock with --require-hashes and CI installs
requirements-dev.lock: a pin edited without running scripts/lock.sh, or a
runtime version CI did not test, fails here instead of in production.
"""

import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENTRY = re.compile(
    r"^([A-Za-z0-9._-]+)(?:\[[^\]]*\])?==(\S+)(?:\s*;\s*([^\\]+?))?\s*\\?$"
)


def canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def read_lines(name):
    with open(os.path.join(ROOT, name)) as handle:
        return handle.read().splitlines()


def pins(name):
    """Name -> version of the top-level pins (following -r includes)."""
    found = {}
    for line in read_lines(name):
        line = line.split("#")[0].strip()
        if line.startswith("-r "):
            found.update(pins(line[3:].strip()))
        elif line:
            match = ENTRY.match(line)
            found[canonical(match[1])] = match[2]
    return found


def lock(name):
    """(name, marker) -> (version, hashes) of a lock file."""
    entries, current = {}, None
    for line in read_lines(name):
        stripped = line.strip()
        if stripped.startswith("--hash="):
            entries[current][1].append(stripped.split("=", 1)[1].rstrip(" \\"))
        elif line and not line.startswith((" ", "#")):
            match = ENTRY.match(line)
            assert match, f"{name}: cannot read {line!r}"
            current = (canonical(match[1]), (match[3] or "").strip())
            entries[current] = (match[2], [])
    return entries


@pytest.mark.parametrize(
    "requirements, locked",
    [
        ("requirements.txt", "requirements.lock"),
        ("requirements-dev.txt", "requirements-dev.lock"),
    ],
)
def test_every_top_level_pin_is_locked_at_its_version_with_hashes(requirements, locked):
    entries = lock(locked)
    versions = {name: version for (name, _), (version, _) in entries.items()}
    assert {name: versions.get(name) for name in pins(requirements)} == pins(
        requirements
    ), f"run scripts/lock.sh after editing {requirements}"
    assert all(hashes for _, hashes in entries.values())


def test_ci_installs_exactly_the_runtime_versions_and_files_the_server_does():
    dev = lock("requirements-dev.lock")
    runtime = lock("requirements.lock")
    assert {key: dev.get(key) for key in runtime} == runtime
