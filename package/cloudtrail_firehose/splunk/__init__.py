"""The Splunk side: splunkd REST, HEC tokens and their check, indexes, ACS, the app's configuration."""
