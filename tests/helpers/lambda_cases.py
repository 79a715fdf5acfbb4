"""Hostile Firehose invocations for the Lambda processor, and what a valid answer to one is.

Shared by tests/firehose/test_lambda_processor.py (property tests) and bench/lambda_fuzz.py (100,000 cases).
The strategies aim at what broke it before: non-object JSON anywhere, numbers over 4,300 digits,
NaN/Infinity, lone surrogates, non-string eventName, huge timestamps, damaged gzip headers and
bodies, log events that are not objects, and responses too small for what comes in.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json

from cloudtrail_firehose.firehose.lambda_processor import Options
from hypothesis import strategies as st

RESULTS = {"Ok", "Dropped", "ProcessingFailed"}


def mostly(common: st.SearchStrategy, rare: st.SearchStrategy, odds: int = 8) -> st.SearchStrategy:
    """`rare` about once in `odds` + 1 draws (one_of draws its branches evenly)."""
    return st.integers(0, odds).flatmap(lambda i: rare if i == 0 else common)

# Every code point, lone surrogates included (hypothesis leaves those out by default).
any_text = st.text(st.characters(codec=None, categories=None, exclude_categories=()), max_size=12)
HOSTILE_NUMBERS = ["1" * 4301, "-" + "9" * 5000, "1e999", "-1e999", "NaN", "Infinity", "1" * 400, "1.5", "-1",
                   "0", "true", "null", '"1700000000000"', "[]", "{}"]  # fmt: skip
hostile_number = st.sampled_from(HOSTILE_NUMBERS)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | any_text,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(any_text, children, max_size=3),
    max_leaves=6,
)
event_names = st.one_of(st.sampled_from(["ConsoleLogin", "GetObject", "s3.amazonaws.com:GetObject"]), json_values)


def _event(name: object, source: object, read_only: object, extra: dict) -> str:
    return json.dumps({"eventName": name, "eventSource": source, "readOnly": read_only, "a": extra,
                       "requestParameters": {"password": "p"}})  # fmt: skip


# A message as the JSON text inside the payload: ordinary, or hostile in its own JSON.
cloudtrail_like = st.builds(_event, event_names, json_values, json_values,
                            st.dictionaries(any_text, json_values, max_size=2)).map(json.dumps)  # fmt: skip
message_text = mostly(st.one_of(any_text.map(json.dumps), cloudtrail_like), st.one_of(
    hostile_number.map(lambda number: json.dumps('{"eventName": "x", "n": ' + number + "}")),
    st.just(json.dumps("[" * 5000)),
    st.just('"\\ud800 lone surrogate"'),
    st.just('"{\\"eventName\\": \\"\\udc00\\", \\"readOnly\\": true}"'),
    json_values.map(json.dumps),  # not a string: the log event has no message
), 3)
log_event = st.builds(lambda ts, message: '{"id": "1", "timestamp": ' + ts + ', "message": ' + message + "}",
                      mostly(st.integers(0, 2**63).map(str), hostile_number, 4), message_text)  # fmt: skip
log_event_text = mostly(log_event, json_values.map(json.dumps), 12)  # rare: not an object


def _payload_text(kind: str, group: str, events: list[str]) -> str:
    return ('{"messageType": ' + kind + ', "owner": "1", "logGroup": ' + group + ', "logStream": "s", '
            '"subscriptionFilters": ["f"], "logEvents": [' + ", ".join(events) + "]}")  # fmt: skip


cloudwatch_like = st.builds(
    _payload_text, mostly(st.just('"DATA_MESSAGE"'), st.sampled_from(['"CONTROL_MESSAGE"', '"X"', "[]", "1"]), 4),
    mostly(st.just('"/aws/cloudtrail/x"'), json_values.map(json.dumps)), st.lists(log_event_text, max_size=4),
)
payload_text = mostly(cloudwatch_like, st.one_of(json_values.map(json.dumps), hostile_number), 4)


def _gzip_extra(body: bytes, extra: bytes, claimed: int) -> bytes:
    """A gzip member whose FEXTRA field is whatever we say (length included)."""
    member = gzip.compress(body, mtime=0)
    return member[:3] + bytes([member[3] | 4]) + member[4:10] + claimed.to_bytes(2, "little") + extra + member[10:]


def _damage(member: bytes, position: int, value: int) -> bytes:
    position %= max(len(member), 1)
    return member[:position] + bytes([value]) + member[position + 1 :]


gzipped = payload_text.map(lambda text: gzip.compress(text.encode("utf-8", "surrogatepass")))
raw_data = mostly(gzipped, st.one_of(
    payload_text.map(lambda text: text.encode("utf-8", "surrogatepass")),
    st.builds(_gzip_extra, payload_text.map(str.encode), st.binary(max_size=12), st.integers(0, 40)),
    st.builds(_damage, payload_text.map(lambda t: gzip.compress(t.encode())), st.integers(0, 400), st.integers(0, 255)),
    st.builds(lambda text, cut: gzip.compress(text.encode())[:cut], payload_text, st.integers(0, 60)),
    st.binary(max_size=64).map(lambda b: b"\x1f\x8b" + b),
    st.binary(max_size=64),
), 2)
record_data = mostly(raw_data.map(lambda raw: base64.b64encode(raw).decode()), st.one_of(any_text, json_values))
records = st.lists(
    mostly(st.fixed_dictionaries({"recordId": st.text(max_size=12), "data": record_data}),
           st.one_of(st.fixed_dictionaries({"recordId": st.text(max_size=12)}), json_values)),
    max_size=6,
)
requests = mostly(
    st.fixed_dictionaries({"deliveryStreamArn": mostly(st.just("arn:aws:firehose:us-east-1:1:deliverystream/x"),
                                                       json_values), "records": records}),  # fmt: skip
    st.one_of(st.fixed_dictionaries({"records": json_values}), json_values),
)
options = st.builds(
    Options,
    mode=st.sampled_from(["raw", "event"]),
    sourcetype_map=st.dictionaries(st.text(max_size=6), st.text(max_size=6), max_size=2),
    drop_read_only=st.booleans(),
    drop_events=st.frozensets(st.sampled_from(["ConsoleLogin", "s3.amazonaws.com:GetObject", "x"]), max_size=2),
    redact_paths=st.sampled_from([(), (("requestParameters", "password"),), (("a", "b"), ("a",))]),
)


def strict_json_documents(text: str) -> list[object]:
    """The JSON documents HEC's event endpoint would read from a transformed record; NaN is not JSON."""
    decoder = json.JSONDecoder(parse_constant=lambda name: (_ for _ in ()).throw(ValueError(name)))
    documents, position = [], 0
    while position < len(text):
        document, position = decoder.raw_decode(text, position)
        documents.append(document)
    return documents


def problems(request: object, response: object, limit: int, mode: str = "raw") -> list[str]:
    """What is wrong with this response to this request, as Firehose and Splunk would see it ([] = valid)."""
    records = request.get("records") if isinstance(request, dict) else None
    records = records if isinstance(records, list) else []
    if not isinstance(response, dict) or not isinstance(response.get("records"), list):
        return ["no records list"]
    answers = response["records"]
    wrong = []
    ids = [r.get("recordId") if isinstance(r, dict) else None for r in records]
    if [a.get("recordId") for a in answers] != ids:
        wrong.append("recordIds not answered once each, in order")
    for answer in answers:
        # A Dropped record delivers nothing, so it needs no data (AWS's CloudWatch Logs processor blueprint
        # answers Dropped without it); Ok and ProcessingFailed carry theirs.
        keys = {"recordId", "result"} | ({"data"} if answer.get("result") != "Dropped" else set())
        if not keys <= set(answer) <= {"recordId", "result", "data"} or answer["result"] not in RESULTS:
            wrong.append(f"entry without recordId, result and data: {answer!r:.200}")
            continue
        try:
            data = base64.b64decode(answer.get("data", ""), validate=True)
        except (binascii.Error, TypeError, ValueError):
            wrong.append("data is not base64")
            continue
        if answer["result"] != "Ok":
            continue
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            wrong.append("Ok data is not UTF-8")
            continue
        if not text:
            wrong.append("Ok without data")
        if mode == "event":
            try:
                documents = strict_json_documents(text)
            except ValueError as error:
                wrong.append(f"event mode output is not JSON HEC reads: {error}")
                continue
            if not all(isinstance(d, dict) and "event" in d for d in documents):
                wrong.append("event mode output without an event")
    size = len(json.dumps(response))
    if size > limit:
        wrong.append(f"response is {size} bytes, over {limit}")
    return wrong
