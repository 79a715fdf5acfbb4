"""Will Firehose trust the HEC endpoint's certificate?

Firehose requires the HEC endpoint to present a certificate signed by a trusted public CA, and refuses
self-signed and private-CA certificates (Amazon Data Firehose Developer Guide, "Choose Splunk for your
destination"; its errors Splunk.SSLUnverified and Splunk.SSLHandshake). This connects to the endpoint
(a TLS handshake through outbound_http, nothing sent) and verifies its chain and host name against
certifi's roots (Mozilla's list of public CAs), not against this Splunk server's own trust store: a
private CA installed on this server would pass there, yet Firehose refuses it. `cafile` replaces the
roots (tests' own CA).
"""

from __future__ import annotations

from dataclasses import dataclass

from cloudtrail_firehose import outbound_http
from cloudtrail_firehose.outbound_http import HttpError
from cloudtrail_firehose.urls import UrlError, parse_url

PUBLIC_ROOTS = ("checked against public root CAs (certifi's Mozilla list), as Firehose checks it, not against this "
                "server's trust store: a certificate from a private CA fails here as it fails in Firehose")  # fmt: skip


@dataclass(frozen=True)
class CertificateCheck:
    ok: bool
    detail: str


def check_hec_certificate(url: str, timeout: float = 10.0, cafile: str | None = None) -> CertificateCheck:
    """Open a TLS connection to the HEC URL and verify it as Firehose would (one deadline: timeout)."""
    try:
        host = parse_url(url, ("https",)).host
    except UrlError as error:
        return CertificateCheck(False, f"{error}; give https:// and the HEC endpoint's public host name (and :port)")
    try:
        certificate = outbound_http.peer_certificate(url, timeout, outbound_http.public_context(cafile))
    except HttpError as error:
        return CertificateCheck(False, _refused(error, host))
    subject = dict(item for rdn in certificate.get("subject", ()) for item in rdn)
    issuer = dict(item for rdn in certificate.get("issuer", ()) for item in rdn)
    return CertificateCheck(True, f"{host} presents a trusted certificate for {subject.get('commonName', host)}, "
                                  f"issued by {issuer.get('organizationName') or issuer.get('commonName')} "
                                  f"({PUBLIC_ROOTS})")  # fmt: skip


def _refused(error: HttpError, host: str) -> str:
    if error.kind == "certificate":
        reason = error.reason
        if "hostname" in reason.lower() or "ip address mismatch" in reason.lower():
            return (f"the certificate of {host} does not name {host} ({reason}); Firehose will fail with "
                    "Splunk.SSLHandshake. Use a certificate issued for this host name.")
        return (f"the certificate of {host} is not publicly trusted ({reason}); Firehose refuses self-signed and "
                "private-CA certificates (Splunk.SSLUnverified), even when this server trusts that CA. Put a "
                "certificate from a public CA on the HEC endpoint or a load balancer in front of it; on Splunk Cloud "
                f"use https://http-inputs-firehose-<stack>.splunkcloud.com. ({PUBLIC_ROOTS}.)")
    if error.kind == "tls":
        return f"{error}; is it an HTTPS port?"
    if error.kind == "resolve":
        return f"{host} does not resolve; Firehose needs a public DNS name."
    return (f"{error}; the endpoint must be reachable from the internet (this check runs from the Splunk "
            "server, which may see a different network).")
