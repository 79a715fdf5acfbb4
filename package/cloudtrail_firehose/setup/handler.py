"""The setup REST endpoints, behind bin/cloudtrail_firehose_setup.py.

    GET  schema            every setting (cloudtrail_firehose/settings.py): the page renders its form from it
    GET  config            saved settings (never a secret; secrets names the ones stored)
    POST config            validate with the schema and save; secrets go to storage/passwords
    POST check             job: preflight (AWS identity, permissions, HEC certificate, names) + Splunk side
                           (index on the indexers, the delivery choice's token: setup/delivery.py)
    POST preview           job: the change set
    POST deploy            job: HEC token for the delivery choice, apply, token into Secrets Manager, data macro
    POST remove            job: destroy (delete_data to remove the buckets too), then the HEC tokens setup made
    POST drift             job: a new drift detection and the status it finds
    GET  status            the deployed pipeline (the last drift result; a GET starts nothing)
    GET  jobs/<id>         a job's progress (since=<n> for new lines only)
    GET  template          the CloudFormation template and the parameters file

Everything answers JSON; errors as {"error": what failed, "what_to_do": ...}. Only users with the
app's capability get further than the capability check, which runs before the body is even parsed;
bodies are bounded in size and depth. GETs change nothing (Splunk Web's CSRF check covers POSTs only).
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable
from typing import Any, Optional

from cloudtrail_firehose import settings as schema
from cloudtrail_firehose import sources
from cloudtrail_firehose.aws import pipeline, rendering
from cloudtrail_firehose.aws.clients import Clients, clients_for
from cloudtrail_firehose.aws.settings import PipelineSettings, SettingsError
from cloudtrail_firehose.errors import ActionableError
from cloudtrail_firehose.inputs.arguments import HEALTH, RECOVERY
from cloudtrail_firehose.setup import delivery
from cloudtrail_firehose.setup.jobs import JobConflictError, Jobs, JobStoreError
from cloudtrail_firehose.setup.requests import RequestError, parse_body, parse_request
from cloudtrail_firehose.splunk import app_config
from cloudtrail_firehose.splunk.splunkd import Splunkd, SplunkdError
from cloudtrail_firehose.splunk.stored_access import read_secret

CAPABILITY = "cloudtrail_firehose_admin"
PIPELINE_KEYS = tuple(s.name for s in schema.SETTINGS if s.scope == "pipeline")

ClientsFactory = Callable[[dict[str, str], Optional[str], str], Clients]  # Optional: Python 3.9


class SetupService:
    """One per handler process; jobs live in the KV store (in this process where it is unavailable)."""

    def __init__(self, clients_factory: ClientsFactory = clients_for,
                 tools: delivery.Tools = delivery.TOOLS, jobs: Jobs | None = None) -> None:  # fmt: skip
        self.jobs = jobs or Jobs()
        self.clients_factory = clients_factory
        self.tools = tools  # how delivery reaches ACS and checks a HEC token

    def handle(self, method: str, path: str, splunkd: Splunkd, payload: dict | str | None = None,
               query: dict | None = None) -> tuple[int, dict]:  # fmt: skip
        """Answer one request; payload is the raw body (parsed only after the capability check) or a dict."""
        try:
            require_capability(splunkd)
            body = parse_body(payload) if isinstance(payload, (str, bytes)) else payload or {}
            return 200, self._route(method, path.strip("/"), splunkd, body, query or {})
        except RequestError as error:
            return error.status, {"error": error.error, "what_to_do": error.what_to_do}
        except SettingsError as error:
            return 400, {"error": "some settings are not valid", "problems": error.problems,
                         "what_to_do": "correct the fields listed"}  # fmt: skip
        except ActionableError as error:  # PipelineError (AWS side) or SplunkError (Splunk side)
            return 502, {"error": str(error), "what_to_do": "see the message; nothing was changed in AWS"}
        except SplunkdError as error:
            if error.status == 401:  # splunkd no longer knows the caller's session key (403 is a capability)
                return 401, {"error": "your Splunk session has expired; sign in again and retry",
                             "what_to_do": "sign in to Splunk Web again, then retry"}  # fmt: skip
            return 502, {"error": f"Splunk refused a change: {error.message}",
                         "what_to_do": "check that your role may edit HEC inputs, passwords and macros"}  # fmt: skip

    def _route(self, method: str, path: str, splunkd: Splunkd, payload: dict, query: dict) -> dict:
        if (method, path) == ("GET", "schema"):
            return schema.schema()
        if (method, path) == ("GET", "config"):
            config = app_config.read_settings(splunkd)
            stored = app_config.stored_secrets(splunkd, schema.SECRETS)
            return {"config": config, "has_secret": app_config.AWS_SECRET_KEY_ENTRY in stored,
                    "secrets": sorted(stored)}
        if (method, path) == ("POST", "config"):
            return self.save(splunkd, payload)
        if (method, path) == ("GET", "status"):
            _, settings, session = self._load(splunkd)
            return {"status": pipeline.status(settings, session, detect_drift=False)}
        if (method, path) == ("GET", "template"):
            _, settings, session = self._load(splunkd)  # one flow log per VPC: the region's VPCs when none chosen
            template = rendering.template_text(settings, session)
            return {"template": template, "parameters": settings.template_parameters()}
        if method == "GET" and path.startswith("jobs/"):
            job = self.jobs.get(path.removeprefix("jobs/"), splunkd)
            if job is None:
                raise RequestError(404, "no such job", "start the operation again")
            since = str(query.get("since", "0"))
            return job.view(int(since) if since.isdigit() else 0)
        if method == "POST" and path in ("check", "preview", "deploy", "remove", "drift"):
            work = getattr(self, f"_{path}")(splunkd, payload)
            try:
                return {"job": self.jobs.start(path, work, splunkd).view()}
            except JobConflictError as error:
                raise RequestError(409, str(error), "wait for it to finish, then try again") from error
            except JobStoreError as error:
                raise RequestError(503, str(error), "check the KV store on this search head "
                                   "(`splunk show kvstore-status`), then start again") from error  # fmt: skip
        raise RequestError(404, f"no endpoint {method} {path}", "see the list in the handler's documentation")

    # --- configuration ---------------------------------------------------------------------------

    def save(self, splunkd: Splunkd, payload: dict) -> dict:
        """Validate what would be stored after this save (the stored settings with the fields sent on top),
        so a save never leaves a combination every later call refuses; on refusal nothing is stored."""
        if not isinstance(payload, dict):
            raise RequestError(400, "the request body must be a JSON object", "send a JSON object of the form's fields")
        unknown = sorted(set(payload) - set(schema.BY_NAME))
        if unknown:
            raise RequestError(400, f"unknown fields: {', '.join(unknown)}"[:300], "send only the form's fields")
        odd = sorted(k for k, v in payload.items() if v is not None and not isinstance(v, (str, int, float, bool)))
        if odd:
            raise RequestError(400, f"fields must be text, numbers or true/false: {', '.join(odd)}",
                               "send the form's fields as the page does")  # fmt: skip
        values = {k: schema.text(v).strip() for k, v in payload.items() if v is not None}
        secrets = {name: value for name in schema.SECRETS if (value := values.pop(name, ""))}
        stored = app_config.stored_secrets(splunkd, schema.SECRETS)
        kept = {k: v for k, v in app_config.read_settings(splunkd).items() if k in schema.BY_NAME}
        merged = {**kept, **values}  # what the file holds once this save is written
        problems = schema.problems({**merged, **secrets}, scopes=("splunk", "access"), has_secret=stored)
        derived = False  # the HEC URL comes from other settings (Splunk Cloud: the stack's endpoint), never typed in
        with contextlib.suppress(ValueError):  # an unknown choice or stack name is among the problems already
            chosen = delivery.delivery_for(merged)
            derived = chosen.fills_hec_url
            if derived:
                values["hec_url"] = merged["hec_url"] = chosen.hec_url()
        try:
            settings = PipelineSettings.from_mapping({k: v for k, v in merged.items() if k in PIPELINE_KEYS})
            settings.validate()
            # Saved as the schema writes them ("yes" becomes "true").
            values.update({k: schema.text(getattr(settings, k)) for k in values if k in PIPELINE_KEYS})
        except SettingsError as error:
            problems += [p for p in error.problems if not (derived and p.startswith("hec_url:"))]  # said by the stack
        if problems:
            raise SettingsError(_with_stored(problems, [k for k in kept if k not in values and k not in secrets]))
        for name, secret in secrets.items():
            app_config.store_secret(splunkd, name, secret)
        app_config.save_settings(splunkd, values)
        stored |= set(secrets)
        return {"saved": True, "has_secret": app_config.AWS_SECRET_KEY_ENTRY in stored, "secrets": sorted(stored)}

    def _load(self, splunkd: Splunkd, need_session: bool = True):
        config = app_config.read_settings(splunkd)
        if not config:
            raise RequestError(409, "nothing is configured yet", "fill in the form and save it first")
        # The stored file may have been edited by hand: it gets the same checks as a save.
        problems = schema.problems(config, scopes=("splunk", "access"), has_secret=True)
        if problems:
            raise SettingsError(problems)
        config = {**config, "hec_url": delivery.delivery_for(config).hec_url()}
        settings = PipelineSettings.from_mapping({k: v for k, v in config.items() if k in PIPELINE_KEYS}).validate()
        aws = None
        if need_session:  # one Clients per request or job: each AWS client made once
            aws = self.clients_factory(config, read_secret(splunkd, config), settings.region)
        return config, settings, aws

    # --- jobs ------------------------------------------------------------------------------------

    def _check(self, splunkd: Splunkd, payload: dict):
        config, settings, session = self._load(splunkd)

        def work(progress) -> list[dict]:
            checks = [vars(c) for c in pipeline.preflight(settings, session)]
            for chosen in deliveries(config, self.tools):
                checks.append(delivery.check_index(splunkd, chosen.index))
                checks += chosen.check(splunkd)
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

        chosen = deliveries(config, self.tools)

        def work(progress) -> dict:
            index = schema.input_index(None, config)  # where the modular inputs write their own events
            for each in chosen:
                delivery.require_index(splunkd, each.index, progress)
            # Made or checked before any AWS change: a token that cannot work leaves no stack and no secret.
            prepared = {each.source.name: each.prepare(splunkd, rotate, progress) for each in chosen}
            outputs = pipeline.ensure_pipeline(settings, session, progress=progress,
                                               hec_tokens={name: p.token for name, p in prepared.items()})
            app_config.point_macros_at(splunkd, {c.source.events_macro: (c.index, c.source.sourcetype)
                                                 for c in chosen}, index)  # fmt: skip
            progress("Dashboards now read " + ", ".join(f"{c.source.label} from index {c.index}" for c in chosen))
            app_config.ensure_input(splunkd, RECOVERY.name, settings.stack_name, RECOVERY.stanza(
                bucket=outputs["FailedDeliveryBucketName"], region=settings.region, index=index))
            app_config.ensure_input(splunkd, HEALTH.name, settings.stack_name, HEALTH.stanza(
                region=settings.region, name_prefix=settings.name_prefix, index=index))
            progress(f"Failed-delivery recovery and health checks run every {RECOVERY.interval // 60} minutes")
            app_config.mark_configured(splunkd)
            # Tokens the secret no longer names go once Firehose's copy of the secret can only be the new one.
            for each in chosen:
                each.retire(splunkd, prepared[each.source.name], progress,
                            lambda source=each.source: pipeline.hec_token_settled_at(settings, source, session))
            streams = {c.source.label: outputs.get(c.source.stream_output) for c in chosen}
            return {"outputs": outputs, "streams": streams}

        return work

    def _drift(self, splunkd: Splunkd, payload: dict):
        _, settings, aws = self._load(splunkd)

        def work(progress) -> dict:
            progress("Detecting drift: CloudFormation compares each resource with the template")
            report = pipeline.status(settings, aws, detect_drift=True)
            progress(f"Drift: {report.get('drift', 'stack not deployed')}")
            return {"status": report}

        return work

    def _remove(self, splunkd: Splunkd, payload: dict):
        config, settings, session = self._load(splunkd)
        delete_data = bool(payload.get("delete_data"))

        def work(progress) -> dict:
            kept = pipeline.destroy(settings, session, delete_data=delete_data, progress=progress)
            # Only once the stack is gone: until then Firehose may still deliver with the token.
            for source in sources.SOURCES:  # every source's tokens, also of one no longer collected
                delivery.delivery_for(config, self.tools, source).remove(splunkd, progress)
            if app_config.ensure_input_disabled(splunkd, "firehose_health", settings.stack_name):
                progress("Health checks turned off: there is no pipeline to watch")
            if not kept and app_config.ensure_input_disabled(splunkd, "firehose_recovery", settings.stack_name):
                progress("Failed-delivery recovery turned off: its bucket is deleted")
            return {"kept_buckets": kept}

        return work


def _with_stored(problems: list[str], stored: list[str]) -> list[str]:
    """Each problem that names a field this save did not send says that its value is the stored one."""
    out = []
    for problem in problems:
        named = [k for k in stored if re.search(rf"\b{k}\b", problem)]
        out.append(problem + "".join(f" ({k} is stored from an earlier save: send it with a new value, or empty to "
                                     "clear it)" for k in named))  # fmt: skip
    return out


def require_capability(splunkd: Splunkd) -> None:
    """Only users holding the app's capability (admin by default) get past this."""
    context = splunkd.get("services/authentication/current-context")["entry"][0]["content"]
    if CAPABILITY not in context.get("capabilities", []):
        raise RequestError(403, f"user {context.get('username', '?')} lacks the capability {CAPABILITY}",
                           "ask an admin to run setup, or to grant the capability to your role")  # fmt: skip


def answer_splunk(service: SetupService, raw: str | bytes) -> dict[str, Any]:
    """One request as Splunk's persistent handler protocol carries it, answered in that protocol."""
    try:
        request = parse_request(raw)
    except RequestError as error:
        status, body = error.status, {"error": error.error, "what_to_do": error.what_to_do}
    else:
        splunkd = Splunkd(request["rest_uri"], request["token"])
        status, body = service.handle(request["method"], request["path"], splunkd, request["payload"], request["query"])
    return {"status": status, "payload": json.dumps(body), "headers": {"Content-Type": "application/json"}}


def deliveries(config: dict, tools: delivery.Tools) -> list[delivery.Delivery]:
    """Where each source the settings collect is delivered (the same choice for each, its own token)."""
    return [delivery.delivery_for(config, tools, source) for source in sources.chosen(config)]
