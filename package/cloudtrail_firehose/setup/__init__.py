"""The setup page's server side: configuration, the Splunk side, and deploy jobs (AWS access: ../aws/clients.py)."""
