"""The Splunk side: HEC token, stored secrets, checkpoints."""
