"""A throwaway sshd that knows one throwaway key: what deploy.sh deploys over.

On a loopback port for deploy/test_deploy.py; in a host's network namespace
(with its command prefix) for each host of deploy/test_hosts.py.
"""

import os
import shutil
import socket
import subprocess
import time

from testing.servers import free_port, stop_process


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
        stop_process(self.process, timeout=10)
        self.log.close()
