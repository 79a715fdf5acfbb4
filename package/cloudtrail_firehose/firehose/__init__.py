"""Record formats: CloudWatch Logs payloads and Firehose failed-delivery records."""
