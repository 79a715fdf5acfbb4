"""The setup page's server side: configuration, AWS access, the Splunk side, and deploy jobs."""
