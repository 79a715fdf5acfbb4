"""Will Firehose trust the HEC endpoint's certificate?

Firehose refuses self-signed certificates and private CAs (its errors Splunk.SSLUnverified and
Splunk.SSLHandshake). This connects to the endpoint and verifies its certificate chain and host
name against this machine's default trust store (the system's CA bundle, or `cafile`), a stand-in
for the public CAs Firehose trusts.
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class CertificateCheck:
    ok: bool
    detail: str


def check_hec_certificate(url: str, timeout: float = 10.0, cafile: str | None = None) -> CertificateCheck:
    """Open a TLS connection to the HEC URL and verify it as a public client would."""
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or 443
    context = ssl.create_default_context(cafile=cafile)
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw:
            with context.wrap_socket(raw, server_hostname=host) as tls:
                subject = dict(item for rdn in tls.getpeercert().get("subject", ()) for item in rdn)
                issuer = dict(item for rdn in tls.getpeercert().get("issuer", ()) for item in rdn)
    except ssl.SSLCertVerificationError as error:
        reason = error.verify_message or str(error)
        if "hostname" in reason.lower() or "ip address mismatch" in reason.lower():
            return CertificateCheck(
                False,
                f"the certificate of {host} does not name {host} ({reason}); Firehose will fail with "
                "Splunk.SSLHandshake. Use a certificate issued for this host name.",
            )
        return CertificateCheck(
            False,
            f"the certificate of {host} is not publicly trusted ({reason}); Firehose refuses self-signed "
            "and private-CA certificates (Splunk.SSLUnverified). Put a certificate from a public CA on "
            "the HEC endpoint or a load balancer in front of it; on Splunk Cloud use "
            "https://http-inputs-firehose-<stack>.splunkcloud.com.",
        )
    except ssl.SSLError as error:
        return CertificateCheck(False, f"TLS handshake with {host}:{port} failed ({error}); is it an HTTPS port?")
    except socket.gaierror:
        return CertificateCheck(False, f"{host} does not resolve; Firehose needs a public DNS name.")
    except OSError as error:
        return CertificateCheck(
            False,
            f"cannot connect to {host}:{port} ({error}); the endpoint must be reachable from the internet "
            "(this check runs from the Splunk server, which may see a different network).",
        )
    return CertificateCheck(True, f"{host} presents a trusted certificate for {subject.get('commonName', host)}, "
                                  f"issued by {issuer.get('organizationName') or issuer.get('commonName')}")
