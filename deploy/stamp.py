"""Stamp a release with its commit: /api/v1/health then names the live release.

Run by deploy/remote.sh inside the release with its own venv:
    .venv/bin/python -m deploy.stamp SHA
"""

import sys

from default_config import Config


def stamp(sha):
    """Write instance/config.py (read by the app) and .version (read by remote.sh)."""
    version = f"{Config.VERSION}+{sha[:12]}"
    with open("instance/config.py", "w") as out:
        out.write("# Written by deploy/stamp.py: /api/v1/health names the release.\n")
        out.write(f"VERSION = {version!r}\n")
    with open(".version", "w") as out:
        out.write(version + "\n")
    return version


if __name__ == "__main__":
    print(stamp(sys.argv[1]))
