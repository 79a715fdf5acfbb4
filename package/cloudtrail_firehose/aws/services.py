"""The AWS services this app talks to.

build.py keeps only these services' API models in the shipped botocore (the full set is
about 30 MB), so a client for any other service fails inside Splunk: add it here first.
This file is read by build.py on its own, so it must not import anything.
"""

# Services the app makes clients for (the template creates the trail and the Lambda function:
# CloudFormation calls Lambda, the app does not).
APP_SERVICES: tuple[str, ...] = (
    "cloudformation",  # the pipeline is one stack: plan, apply, status, destroy
    "cloudtrail",  # preflight: the account's trails and their CloudWatch Logs targets
    "cloudwatch",  # Firehose delivery metrics for pipeline health
    "ec2",  # preflight for VPC Flow Logs: the region's VPCs and their flow logs
    "firehose",  # delivery stream status
    "iam",  # preflight permission simulation, name clashes
    "logs",  # log groups, subscription filters
    "organizations",  # the organization's id for an organization trail's bucket policy
    "s3",  # failed-delivery bucket
    "secretsmanager",  # the HEC token handed to Firehose
    "sts",  # who am I, assume role
)

# Services botocore itself calls while resolving credentials (SSO profiles).
CREDENTIAL_SERVICES: tuple[str, ...] = ("sso", "sso-oidc")

SHIPPED_SERVICES: tuple[str, ...] = APP_SERVICES + CREDENTIAL_SERVICES

# Services whose API model ships cut to the operations the app calls, the shapes they use and their paginators:
# EC2's model is the largest (8 API versions, the newest 126 KB gzipped even without documentation, against 2 KB
# for these operations). Calling any other operation of these services fails inside Splunk: add it here first.
OPERATIONS_ONLY: dict[str, tuple[str, ...]] = {
    "ec2": ("DescribeFlowLogs", "DescribeVpcs"),  # preflight for VPC Flow Logs
}
