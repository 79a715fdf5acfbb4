"""What a source is: everything one kind of AWS log brings to the app, stated once, as data.

A source adds, to what every pipeline shares (the failed-delivery bucket, Firehose's error log group, the
setup page, recovery and health themselves):
- its part of the CloudFormation template (aws/template.yaml): the parameters, conditions, rules, resources
  and outputs it owns, among them its own Firehose stream, named by one of its outputs;
- its HEC token and sourcetype (TokenSpec: the token's name and the names of its rotations);
- its index-time and search-time knowledge, dashboards and alerts: the stanzas of default/*.conf, the
  lookups and the views it owns;
- how recovery recognises its failed deliveries (its stream's S3 backup prefix), reads the events out of
  one (its record format: firehose/records.py READERS), and which key of an event holds the event's own id.

The units are data at the bottom of the package's layers, so the AWS side, the Splunk side, the inputs and
setup all read them. tests/test_sources.py checks that every part of the template and of the knowledge
belongs to exactly one source or to the core, and that a unit registered in sources/__init__.py is
recovered, searched for and watched without a change to recovery, health or the setup handler.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

# The conf files whose stanzas a unit may own (default/<name>.conf).
KNOWLEDGE_CONFS = ("props", "transforms", "eventtypes", "tags", "macros", "savedsearches")
TEMPLATE_SECTIONS = ("Parameters", "Conditions", "Rules", "Resources", "Outputs")


@dataclass(frozen=True)
class TokenSpec:
    """One source's HEC token: its name (and its rotations'), and the sourcetype it sets."""

    name: str
    sourcetype: str

    @property
    def source(self) -> str:
        return f"http:{self.name}"

    def generation(self, name: str) -> int | None:
        """Which token of this spec a name is (1 for the name itself), or None for another token."""
        if name == self.name:
            return 1
        match = re.fullmatch(re.escape(self.name) + r"[-_]([0-9]+)", name)  # -<n>, and _<n> from earlier versions
        return int(match.group(1)) if match else None

    def oldest_first(self, names: Iterable[str]) -> list[str]:
        """This spec's token names among names, oldest first: the last is the one Firehose should use."""
        return sorted((n for n in names if self.generation(n) is not None), key=lambda n: (self.generation(n), n))

    def next_name(self, names: Iterable[str]) -> str:
        """The name a rotation gives the new token: one generation past the newest of this spec's names."""
        newest = max((self.generation(n) or 0 for n in names), default=0)
        return self.name if newest == 0 else f"{self.name}-{newest + 1}"

    @property
    def rotations(self) -> str:
        """The names, as the messages that say what to delete by hand put it."""
        return f"{self.name} and its rotations {self.name}-<n>"


@dataclass(frozen=True)
class Knowledge:
    """The app content a unit owns: stanzas by conf file, lookup files, dashboard views."""

    stanzas: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # conf name -> stanza names
    lookups: tuple[str, ...] = ()  # file names under lookups/
    views: tuple[str, ...] = ()  # view names under default/data/ui/views/


@dataclass(frozen=True)
class TemplatePart:
    """The logical names a unit owns in aws/template.yaml, by section."""

    sections: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # section -> names


@dataclass(frozen=True)
class Source:
    name: str  # the unit's key: cloudtrail
    label: str  # what the page and the messages call it: CloudTrail
    token: TokenSpec  # its HEC token and the sourcetype its events are indexed with
    backup_prefix: str  # its stream's S3 backup prefix: Firehose writes its failed deliveries under it
    record_format: str  # how a record's data holds its events (firehose/records.py READERS)
    event_id_key: str | None  # the JSON key whose LAST value in an event's text is the event's own id
    stream_output: str  # the stack output naming its Firehose stream
    hec_arn_parameter: str  # the template parameter naming its HEC token's secret (ARN)
    hec_name_suffix: str  # its secret's name: <name prefix>/splunk-hec-token<suffix>
    template: TemplatePart
    knowledge: Knowledge
    # Its settings (settings.py): whether it is collected, the index it goes to, the token of the "existing"
    # delivery choice; and the macro the dashboards and searches read it through.
    enabled_setting: str
    enabled_by_default: bool
    index_setting: str
    existing_hec_setting: str
    events_macro: str

    @property
    def sourcetype(self) -> str:
        return self.token.sourcetype

    @property
    def token_env(self) -> str:
        """The environment variable the command line reads its HEC token from: CLOUDTRAIL_FIREHOSE_HEC_TOKEN."""
        return f"{self.token.name.upper()}_HEC_TOKEN"

    def chosen(self, config: Mapping[str, object]) -> bool:
        """Whether the settings collect this source (its enabled setting, else its default)."""
        value = config.get(self.enabled_setting)
        if value is None or value == "":
            return self.enabled_by_default
        return str(value).strip().lower() in ("1", "true", "yes", "on")
