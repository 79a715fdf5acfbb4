"""The certificate check says what Firehose will say about the HEC endpoint's certificate."""

from __future__ import annotations

import socket
import ssl
import threading
from pathlib import Path

import pytest
from certificates import self_signed
from cloudtrail_firehose.certificates import check_hec_certificate


@pytest.fixture
def tls_server(tmp_path):
    """An HTTPS-ish listener on 127.0.0.1 presenting a certificate for the given host name."""
    servers = []

    def start(host: str) -> tuple[int, Path]:
        cert, key = self_signed(tmp_path, host)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        listener = socket.create_server(("127.0.0.1", 0))
        servers.append(listener)

        def serve():
            for _ in range(4):
                try:
                    connection, _ = listener.accept()
                except OSError:
                    return
                try:
                    with context.wrap_socket(connection, server_side=True):
                        pass
                except (ssl.SSLError, OSError):
                    pass

        threading.Thread(target=serve, daemon=True).start()
        return listener.getsockname()[1], cert

    yield start
    for listener in servers:
        listener.close()


def test_a_self_signed_certificate_is_refused_as_firehose_would(tls_server):
    port, _ = tls_server("localhost")
    result = check_hec_certificate(f"https://localhost:{port}", timeout=5)
    assert not result.ok
    assert "not publicly trusted" in result.detail
    assert "Splunk.SSLUnverified" in result.detail


def test_a_trusted_certificate_passes(tls_server):
    port, cert = tls_server("localhost")
    result = check_hec_certificate(f"https://localhost:{port}", timeout=5, cafile=str(cert))
    assert result.ok, result.detail


def test_a_certificate_for_another_host_name_is_a_handshake_error(tls_server):
    port, cert = tls_server("hec.other.example")
    result = check_hec_certificate(f"https://localhost:{port}", timeout=5, cafile=str(cert))
    assert not result.ok
    assert "Splunk.SSLHandshake" in result.detail


def test_an_unreachable_endpoint_is_explained():
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    result = check_hec_certificate(f"https://localhost:{port}", timeout=2)
    assert not result.ok
    assert "cannot connect" in result.detail
