"""The AWS side: CloudFormation template and the boto3 driver around it."""
