"""CloudTrail via Firehose: the Splunk app's own Python library.

Importable and testable without Splunk; bin/ entry points bootstrap lib/ and call into it.
"""
