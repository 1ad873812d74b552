"""What deploy/remote.sh asks a running release: health answers and uWSGI's workers.

Standard library only: it runs with the server's python3, before and outside
any release's virtualenv.

    health.py probe URL [VERSION]   prints the version; exit 0 ok (and VERSION),
                                    2 answered but not ok, 1 no answer
    health.py workers SOCKET SINCE  prints "n/m workers ..."; exit 0 when every
                                    worker was forked at or after epoch SINCE
    health.py free-port             prints a free loopback TCP port
"""

import json
import re
import socket
import sys
import urllib.error
import urllib.request

OK, NOT_OK, SILENT = 0, 2, 1
# uWSGI prints the master's cwd raw: once its release is pruned, leftover bytes
# with unescaped quotes and backslashes. Only the workers matter: blank the paths.
RAW_PATHS = re.compile(r'("(?:cwd|chdir)":").*?(",?\n)', re.S)


def probe(url, want=""):
    """(exit status, what to print) for one GET of a health URL."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            body = json.load(response)
    except urllib.error.HTTPError as error:
        return NOT_OK, f"answered {error.code}"
    except Exception as error:  # refused, reset, timeout, not JSON: all silence
        return SILENT, f"no answer: {error}"
    version = body.get("version", "") if isinstance(body, dict) else ""
    healthy = isinstance(body, dict) and body.get("status") == "ok"
    return (OK if healthy and (not want or version == want) else NOT_OK), version


def read_stats(path):
    """The raw bytes uWSGI's stats socket sends on one connection."""
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(5)
        sock.connect(path)
        return b"".join(iter(lambda: sock.recv(65536), b""))


def live_workers(data):
    """The workers (with a pid) in uWSGI's stats output."""
    text = RAW_PATHS.sub(r"\1\2", data.decode("utf-8", "replace"))
    return [w for w in json.loads(text, strict=False)["workers"] if w["pid"] > 0]


def workers_fresh(path, since):
    """(exit status, summary): every worker forked at or after `since` and accepting."""
    try:
        workers = live_workers(read_stats(path))
    except Exception as error:  # no socket, cut short, unparsable: not known fresh
        return SILENT, f"stats unreadable: {error}"
    fresh = [w for w in workers if w["last_spawn"] >= since and w["accepting"]]
    status = OK if workers and len(fresh) == len(workers) else SILENT
    return status, f"{len(fresh)}/{len(workers)} workers started after the switch"


def free_port():
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main(argv):
    """Run one command of the usage above; returns the exit status."""
    command, args = (argv[0], argv[1:]) if argv else ("", [])
    if command == "probe" and len(args) in (1, 2):
        status, text = probe(*args)
    elif command == "workers" and len(args) == 2:
        status, text = workers_fresh(args[0], int(args[1]))
    elif command == "free-port" and not args:
        status, text = OK, free_port()
    else:
        print(__doc__.split("\n\n")[-1], file=sys.stderr)
        return 64
    print(text)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
