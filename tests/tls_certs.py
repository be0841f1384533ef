"""A throw-away certificate authority and server certificate made with the openssl command for TLS tests."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.external_tools import require_tool


@dataclass(frozen=True)
class TestCertificates:
    """PEM files: the CA, a server certificate for 127.0.0.1/localhost signed by it, and a second, unrelated CA."""

    ca_cert: Path
    server_cert: Path
    server_key: Path
    other_ca_cert: Path


def _run(*args: object) -> None:
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr


def _make_ca(folder: Path, name: str) -> tuple[Path, Path]:
    key, cert = folder / f"{name}.key", folder / f"{name}.pem"
    _run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2",
         "-subj", f"/CN={name}", "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    return key, cert


def make_test_certificates(folder: Path, server_names: str = "IP:127.0.0.1,DNS:localhost") -> TestCertificates:
    """Make the CA, the server certificate (subjectAltName ``server_names``) and another CA under ``folder``."""
    require_tool("openssl", "openssl")
    folder.mkdir(parents=True, exist_ok=True)
    ca_key, ca_cert = _make_ca(folder, "test-ca")
    _other_key, other_cert = _make_ca(folder, "other-ca")
    server_key, request, server_cert = folder / "server.key", folder / "server.csr", folder / "server.pem"
    _run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", server_key, "-out", request,
         "-subj", "/CN=test-pacs")
    extensions = folder / "server.ext"
    extensions.write_text(f"subjectAltName={server_names}\nextendedKeyUsage=serverAuth,clientAuth\n")
    _run("openssl", "x509", "-req", "-in", request, "-CA", ca_cert, "-CAkey", ca_key, "-CAcreateserial",
         "-out", server_cert, "-days", "2", "-extfile", extensions)
    return TestCertificates(ca_cert=ca_cert, server_cert=server_cert, server_key=server_key, other_ca_cert=other_cert)
