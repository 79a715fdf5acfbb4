"""What the setup page stores in Splunk: settings in cloudtrail_firehose.conf, the secret settings (the
AWS secret key, a HEC or ACS token) in storage/passwords (encrypted by splunkd), and the data macro
that names the index."""

from __future__ import annotations

from cloudtrail_firehose import settings as schema
from cloudtrail_firehose.splunk.splunkd import Splunkd, SplunkdError, quote

APP = "cloudtrail_firehose"
NAMESPACE = f"servicesNS/nobody/{APP}"
CONF_PATH = f"{NAMESPACE}/configs/conf-{APP}"
STANZA = "pipeline"
PASSWORD_REALM = APP
AWS_SECRET_KEY_ENTRY = "aws_secret_access_key"  # noqa: S105 - the entry's name in storage/passwords
PIPELINE_MACRO = "cloudtrail_firehose_pipeline"
PIPELINE_EVENTS = '(sourcetype="aws:firehose:health" OR sourcetype="aws:firehose:error")'


def read_settings(splunkd: Splunkd) -> dict[str, str]:
    try:
        content = splunkd.get(f"{CONF_PATH}/{STANZA}")["entry"][0]["content"]
    except SplunkdError as error:
        if error.status == 404:
            return {}
        raise
    return {k: str(v) for k, v in content.items() if not k.startswith("eai:") and k != "disabled"}


def save_settings(splunkd: Splunkd, values: dict[str, str]) -> None:
    splunkd.upsert(CONF_PATH, STANZA, values, {"name": STANZA})


PASSWORDS = f"{NAMESPACE}/storage/passwords"
PASSWORD_ID = f"{PASSWORD_REALM}:{AWS_SECRET_KEY_ENTRY}:"


def _password_id(name: str) -> str:
    return f"{PASSWORD_REALM}:{name}:"


def store_secret(splunkd: Splunkd, name: str, secret: str) -> None:
    """A secret setting (the AWS secret key, a HEC or ACS token) goes to storage/passwords only."""
    splunkd.upsert(PASSWORDS, _password_id(name), {"password": secret}, {"name": name, "realm": PASSWORD_REALM})


def read_secret(splunkd: Splunkd, name: str) -> str | None:
    try:
        return splunkd.get(f"{PASSWORDS}/{quote(_password_id(name))}")["entry"][0]["content"]["clear_password"]
    except SplunkdError as error:
        if error.status == 404:
            return None
        raise


def delete_secret(splunkd: Splunkd, name: str) -> bool:
    """Forget a stored secret; False when none was stored."""
    try:
        splunkd.delete(f"{PASSWORDS}/{quote(_password_id(name))}")
    except SplunkdError as error:
        if error.status == 404:
            return False
        raise
    return True


def stored_secrets(splunkd: Splunkd, names: tuple[str, ...]) -> set[str]:
    """Which of these secrets are stored (their values are not read)."""
    return {name for name in names if splunkd.exists(f"{PASSWORDS}/{quote(_password_id(name))}")}


def store_secret_key(splunkd: Splunkd, secret: str) -> None:
    """The AWS secret access key goes to storage/passwords only."""
    store_secret(splunkd, AWS_SECRET_KEY_ENTRY, secret)


def read_secret_key(splunkd: Splunkd) -> str | None:
    return read_secret(splunkd, AWS_SECRET_KEY_ENTRY)


def point_macros_at(splunkd: Splunkd, macros: dict[str, tuple[str, str]], index: str) -> None:
    """The data macros name their indexes, so every dashboard and alert reads the configured ones: macros is
    macro name -> (index, sourcetype), one per source; the pipeline macro (health and error events) reads
    index, where the modular inputs write them."""
    for name, (where, sourcetype) in {**macros, PIPELINE_MACRO: (index, "")}.items():
        problems = schema.value_problems(schema.BY_NAME["index"], where) if where else ["index: none given"]
        if problems:  # pasted into search strings: only a valid index name may get there
            raise ValueError("; ".join(problems))
        which = f'sourcetype="{sourcetype}"' if sourcetype else PIPELINE_EVENTS
        splunkd.post(f"{NAMESPACE}/configs/conf-macros/{name}", {"definition": f'(index="{where}" {which})'})


def mark_configured(splunkd: Splunkd) -> None:
    """Splunk Web stops sending users to the setup page once the app is configured."""
    splunkd.post(f"services/apps/local/{APP}", {"configured": "1"})


def ensure_input(splunkd: Splunkd, kind: str, name: str, values: dict[str, str]) -> None:
    """Create or update one of the app's modular inputs (firehose_recovery, firehose_health)."""
    splunkd.upsert(f"{NAMESPACE}/data/inputs/{kind}", name, values, {"name": name})


def ensure_input_disabled(splunkd: Splunkd, kind: str, name: str) -> bool:
    """Turn one of the app's modular inputs off if it exists; True when there was one."""
    path = f"{NAMESPACE}/data/inputs/{kind}/{quote(name)}"
    if not splunkd.exists(path):
        return False
    splunkd.post(path, {"disabled": "1"})
    return True
