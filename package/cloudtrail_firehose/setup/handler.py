"""The setup REST endpoints, behind bin/cloudtrail_firehose_setup.py.

    GET  config            saved settings (never the secret key; has_secret says whether one is stored)
    POST config            validate and save settings; the secret key goes to storage/passwords
    POST check             job: preflight (AWS identity, permissions, HEC certificate, names) + Splunk side
    POST preview           job: the change set
    POST deploy            job: HEC input and token, apply, token into Secrets Manager, data macro
    POST remove            job: destroy (delete_data to remove the buckets too)
    GET  status            the deployed pipeline
    GET  jobs/<id>         a job's progress (since=<n> for new lines only)
    GET  template          the CloudFormation template and the parameters file

Everything answers JSON; errors as {"error": what failed, "what_to_do": ...}. Only users with the
app's capability may change state or read anything AWS-related.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import fields
from typing import Any

from cloudtrail_firehose import access
from cloudtrail_firehose.aws import pipeline
from cloudtrail_firehose.aws.errors import PipelineError
from cloudtrail_firehose.aws.settings import PipelineSettings, SettingsError
from cloudtrail_firehose.setup.jobs import JobConflictError, Jobs
from cloudtrail_firehose.splunk import app_config, hec
from cloudtrail_firehose.splunk.splunkd import Splunkd, SplunkdError

CAPABILITY = "cloudtrail_firehose_admin"
SPLUNK_KEYS = ("index", "aws_auth", "aws_access_key_id", "aws_role_arn", "aws_external_id")
PIPELINE_KEYS = tuple(f.name for f in fields(PipelineSettings))

ClientsFactory = Callable[[dict[str, str], str | None, str], access.Clients]


class RequestError(Exception):
    def __init__(self, status: int, error: str, what_to_do: str = "") -> None:
        super().__init__(error)
        self.status, self.error, self.what_to_do = status, error, what_to_do


class SetupService:
    """One per handler process; jobs live as long as the process."""

    def __init__(self, clients_factory: ClientsFactory = access.clients_for) -> None:
        self.jobs = Jobs()
        self.clients_factory = clients_factory

    def handle(self, method: str, path: str, splunkd: Splunkd, payload: dict | None = None,
               query: dict | None = None) -> tuple[int, dict]:  # fmt: skip
        try:
            require_capability(splunkd)
            return 200, self._route(method, path.strip("/"), splunkd, payload or {}, query or {})
        except RequestError as error:
            return error.status, {"error": error.error, "what_to_do": error.what_to_do}
        except SettingsError as error:
            return 400, {"error": "some settings are not valid", "problems": error.problems,
                         "what_to_do": "correct the fields listed"}  # fmt: skip
        except PipelineError as error:
            return 502, {"error": str(error), "what_to_do": "see the message; nothing was changed in AWS"}
        except SplunkdError as error:
            return 502, {"error": f"Splunk refused a change: {error.message}",
                         "what_to_do": "check that your role may edit HEC inputs, passwords and macros"}  # fmt: skip

    def _route(self, method: str, path: str, splunkd: Splunkd, payload: dict, query: dict) -> dict:
        if (method, path) == ("GET", "config"):
            config = app_config.read_settings(splunkd)
            return {"config": config, "has_secret": app_config.read_secret_key(splunkd) is not None}
        if (method, path) == ("POST", "config"):
            return self.save(splunkd, payload)
        if (method, path) == ("GET", "status"):
            _, settings, session = self._load(splunkd)
            return {"status": pipeline.status(settings, session)}
        if (method, path) == ("GET", "template"):
            _, settings, _ = self._load(splunkd, need_session=False)
            return {"template": pipeline.TEMPLATE_PATH.read_text(), "parameters": settings.template_parameters()}
        if method == "GET" and path.startswith("jobs/"):
            job = self.jobs.get(path.removeprefix("jobs/"))
            if job is None:
                raise RequestError(404, "no such job", "start the operation again")
            since = str(query.get("since", "0"))
            return job.view(int(since) if since.isdigit() else 0)
        if method == "POST" and path in ("check", "preview", "deploy", "remove"):
            work = getattr(self, f"_{path}")(splunkd, payload)
            try:
                return {"job": self.jobs.start(path, work).view()}
            except JobConflictError as error:
                raise RequestError(409, str(error), "wait for it to finish, then try again") from error
        raise RequestError(404, f"no endpoint {method} {path}", "see the list in the handler's documentation")

    # --- configuration ---------------------------------------------------------------------------

    def save(self, splunkd: Splunkd, payload: dict) -> dict:
        unknown = sorted(set(payload) - set(SPLUNK_KEYS) - set(PIPELINE_KEYS) - {"aws_secret_access_key"})
        if unknown:
            raise RequestError(400, f"unknown fields: {', '.join(unknown)}", "send only the form's fields")
        secret = payload.get("aws_secret_access_key") or None
        values = {k: str(v).strip() for k, v in payload.items() if k != "aws_secret_access_key" and v is not None}
        has_secret = secret is not None or app_config.read_secret_key(splunkd) is not None
        problems = access.access_problems(values, has_secret)
        try:
            PipelineSettings.from_mapping({k: v for k, v in values.items() if k in PIPELINE_KEYS}).validate()
        except SettingsError as error:
            problems += error.problems
        if not values.get("index"):
            problems.append("index: choose the Splunk index the CloudTrail events go to")
        if problems:
            raise SettingsError(problems)
        if secret is not None:
            app_config.store_secret_key(splunkd, secret)
        app_config.save_settings(splunkd, values)
        return {"saved": True, "has_secret": has_secret}

    def _load(self, splunkd: Splunkd, need_session: bool = True):
        config = app_config.read_settings(splunkd)
        if not config:
            raise RequestError(409, "nothing is configured yet", "fill in the form and save it first")
        settings = PipelineSettings.from_mapping({k: v for k, v in config.items() if k in PIPELINE_KEYS}).validate()
        aws = None
        if need_session:  # one Clients per request or job: each AWS client made once
            aws = self.clients_factory(config, access.read_secret(splunkd, config), settings.region)
        return config, settings, aws

    # --- jobs ------------------------------------------------------------------------------------

    def _check(self, splunkd: Splunkd, payload: dict):
        config, settings, session = self._load(splunkd)

        def work(progress) -> list[dict]:
            checks = [vars(c) for c in pipeline.preflight(settings, session)]
            index = config.get("index", "")
            found = hec.index_exists(splunkd, index)
            missing = f"index {index!r} does not exist; create it (Settings > Indexes) or choose another"
            checks.append({"name": "Splunk index", "ok": found, "detail": index if found else missing})
            for check in checks:
                progress(f"{'ok' if check['ok'] else 'warning' if check['ok'] is None else 'FAILED'}: "
                         f"{check['name']}: {check['detail']}")  # fmt: skip
            return checks

        return work

    def _preview(self, splunkd: Splunkd, payload: dict):
        _, settings, session = self._load(splunkd)

        def work(progress) -> dict:
            plan = pipeline.plan(settings, session)
            progress(plan.describe())
            return {"changes": [vars(c) for c in plan.changes], "text": plan.describe()}

        return work

    def _deploy(self, splunkd: Splunkd, payload: dict):
        config, settings, session = self._load(splunkd)
        rotate = bool(payload.get("rotate_token"))

        def work(progress) -> dict:
            index = config["index"]
            if not hec.index_exists(splunkd, index):
                raise PipelineError(f"index {index!r} does not exist; create it (Settings > Indexes) or choose another")
            if hec.ensure_hec_enabled(splunkd):
                progress("HTTP Event Collector was off; turned it on")
            token = hec.ensure_hec_input(splunkd, index, rotate=rotate)
            progress(f"HEC input {hec.INPUT_NAME} ready (index {index}, indexer acknowledgement on)")
            outputs = pipeline.ensure_pipeline(settings, session, progress=progress, hec_token=token)
            app_config.point_dashboards_at(splunkd, index)
            progress(f"Dashboards now read index {index}")
            app_config.ensure_input(splunkd, "firehose_recovery", settings.stack_name, {
                "bucket": outputs["FailedDeliveryBucketName"], "region": settings.region, "index": index,
                "interval": "300", "disabled": "0"})  # fmt: skip
            app_config.ensure_input(splunkd, "firehose_health", settings.stack_name, {
                "region": settings.region, "name_prefix": settings.name_prefix, "index": index,
                "interval": "300", "disabled": "0"})  # fmt: skip
            progress("Failed-delivery recovery and health checks run every 5 minutes")
            app_config.mark_configured(splunkd)
            return {"outputs": outputs}

        return work

    def _remove(self, splunkd: Splunkd, payload: dict):
        _, settings, session = self._load(splunkd)
        delete_data = bool(payload.get("delete_data"))

        def work(progress) -> dict:
            return {"kept_buckets": pipeline.destroy(settings, session, delete_data=delete_data, progress=progress)}

        return work


def require_capability(splunkd: Splunkd) -> None:
    """Only users holding the app's capability (admin by default) get past this."""
    context = splunkd.get("services/authentication/current-context")["entry"][0]["content"]
    if CAPABILITY not in context.get("capabilities", []):
        raise RequestError(403, f"user {context.get('username', '?')} lacks the capability {CAPABILITY}",
                           "ask an admin to run setup, or to grant the capability to your role")  # fmt: skip


def parse_request(raw: str) -> dict[str, Any]:
    """The JSON Splunk hands a persistent REST handler, reduced to what the service needs."""
    request = json.loads(raw)
    payload = request.get("payload") or "{}"
    try:
        body = json.loads(payload) if isinstance(payload, str) else payload
    except json.JSONDecodeError:
        body = {}
    return {
        "method": request.get("method", "GET").upper(),
        "path": request.get("path_info", ""),
        "query": dict(request.get("query", [])),
        "payload": body if isinstance(body, dict) else {},
        "rest_uri": request.get("server", {}).get("rest_uri", "https://127.0.0.1:8089"),
        "token": request.get("session", {}).get("authtoken", ""),
    }
