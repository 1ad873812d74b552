"""TLS for loopback servers in tests: a self-signed certificate from openssl."""

import subprocess


def localhost_certificate(folder):
    """(cert path, key path) of a new self-signed certificate for the name
    localhost only, valid for a day, written into folder."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"]
        + ["-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return str(cert), str(key)
