"""The one naming function for physical AWS names.

Every physical name is ``<app>-<environment>-<component>``, so a layer can compute the ARN of a
resource that a later layer owns (IAM in ``security`` names the tables ``data`` will create).
Pure Python: the Lambda bundle and the local runtime use it too.
"""

from __future__ import annotations

import re

_PART = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
# The tightest AWS limit among the names we build: IAM role names and ALB-style names (64),
# SQS queue names (80), DynamoDB (255). Lambda function names allow 64.
MAX_LENGTH = 64


class NamingError(ValueError):
    """A name part is malformed or the whole name exceeds what AWS accepts."""


def _checked(label: str, part: str) -> str:
    if not _PART.match(part):
        raise NamingError(
            f"{label} {part!r} must be lower-case letters and digits separated by single "
            "hyphens, starting with a letter"
        )
    return part


def physical_name(app: str, environment: str, component: str) -> str:
    """Return the physical name of ``component`` for ``app`` in ``environment``.

    >>> physical_name("txn", "dev", "transactions")
    'txn-dev-transactions'
    """
    for label, part in (("app", app), ("environment", environment), ("component", component)):
        _checked(label, part)
    name = f"{app}-{environment}-{component}"
    if len(name) > MAX_LENGTH:
        raise NamingError(f"{name!r} is {len(name)} characters; AWS allows {MAX_LENGTH}")
    return name


def physical_name_pattern(app: str, environment: str) -> str:
    """Every physical name of ``app`` in ``environment``, as an IAM (and fnmatch) wildcard.

    >>> physical_name_pattern("txn", "dev")
    'txn-dev-*'
    """
    return f"{_checked('app', app)}-{_checked('environment', environment)}-*"


def function_log_group(function_name: str) -> str:
    """The log group Lambda writes to; created by ``compute`` before the function exists."""
    return f"/aws/lambda/{function_name}"


def log_group_prefix(app: str, environment: str) -> str:
    """What every non-Lambda log group of an environment starts with: ``/<app>/<environment>/``."""
    return f"/{app}/{environment}/"


def log_group(app: str, environment: str, component: str) -> str:
    """A log group that is not a function's: ``/<app>/<environment>/<component>``."""
    physical_name(app, environment, component)  # validates the parts
    return f"{log_group_prefix(app, environment)}{component}"


# WAF only logs to groups whose name starts with this.
WAF_LOG_GROUP_PREFIX = "aws-waf-logs-"


def waf_log_group(app: str, environment: str) -> str:
    """The web ACL's log group: ``aws-waf-logs-<app>-<environment>-waf``."""
    return f"{WAF_LOG_GROUP_PREFIX}{physical_name(app, environment, 'waf')}"


# --- The account bootstrap (stacks/account): once per AWS account and region -----------------

# API Gateway names a REST API stage's execution log group itself:
# ``API-Gateway-Execution-Logs_<rest-api-id>/<stage>``.
APIGATEWAY_EXECUTION_LOG_PREFIX = "API-Gateway-Execution-Logs_"
# API Gateway writes a first event here when the account's CloudWatch role is set.
APIGATEWAY_WELCOME_LOG_GROUP = "/aws/apigateway/welcome"

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
# Prefixes S3 reserves (the S3 guide, "General purpose bucket naming rules"); the name's
# region ending rules out its reserved suffixes.
_BUCKET_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")


def state_bucket(app: str, account_id: str, region: str) -> str:
    """The S3 bucket holding every stack's Pulumi state in one account and region.

    Bucket names are global across all AWS accounts, hence the account id and the region.

    >>> state_bucket("txn", "123456789012", "us-east-2")
    'txn-pulumi-state-123456789012-us-east-2'
    """
    name = f"{app}-pulumi-state-{account_id}-{region}"
    if not _BUCKET.match(name):
        raise NamingError(f"{name!r} is not a valid S3 bucket name (3-63 of a-z, 0-9, -)")
    if name.startswith(_BUCKET_RESERVED_PREFIXES):
        raise NamingError(f"{name!r} starts with a prefix S3 reserves: choose another app name")
    return name


def state_key_alias(app: str) -> str:
    """The KMS key that encrypts the state objects (S3 default encryption)."""
    return f"alias/{app}-pulumi-state"


def secrets_key_alias(app: str) -> str:
    """The KMS key behind every stack's secrets provider."""
    return f"alias/{app}-pulumi-secrets"


def apigateway_cloudwatch_role(app: str, region: str) -> str:
    """The role API Gateway writes every REST API's logs with, one per account and region. The
    account stack's name may carry an account id before the region (``123456789012-us-east-2``);
    the name does not, since IAM names are per account already.

    >>> apigateway_cloudwatch_role("txn", "us-east-2")
    'txn-us-east-2-apigateway-cloudwatch-role'
    """
    return f"{app}-{region}-apigateway-cloudwatch-role"


def deploy_role(app: str, region: str, layer: str) -> str:
    """One layer's deploy role in an account and region (IAM is global: the region keeps two
    regions' roles apart, as for the account project's other roles).

    >>> deploy_role("txn", "us-east-2", "network")
    'txn-us-east-2-network-deploy'
    """
    return f"{app}-{region}-{layer}-deploy"


def preview_role(app: str, region: str, layer: str) -> str:
    """One layer's preview role beside its deploy role: what ``pulumi preview`` of the layer
    reads, and nothing that writes (the jobs that run before any review assume it).

    >>> preview_role("txn", "us-east-2", "network")
    'txn-us-east-2-network-preview'
    """
    return f"{app}-{region}-{layer}-preview"


def role_boundary(app: str, environment: str) -> str:
    """The managed policy the account project creates as the permissions boundary of every role
    ``security`` creates for ``environment`` (the functions' and VPC flow logs'): their ceiling.

    >>> role_boundary("txn", "dev")
    'txn-dev-role-boundary'
    """
    return physical_name(app, environment, "role-boundary")


# The tag that marks the managed policy above as a boundary (it grants nothing), by which the
# policy pack tells it from a policy that grants.
ROLE_BOUNDARY_TAG = ("Purpose", "permissions-boundary")


def backend_url(bucket: str, region: str) -> str:
    """What ``[tool.txn-ops] backend-url`` holds: Pulumi's S3 backend in that bucket."""
    return f"s3://{bucket}?region={region}"


def secrets_provider(app: str, region: str) -> str:
    """What ``[tool.txn-ops] secrets-provider`` holds: the secrets key through its alias."""
    return f"awskms://{secrets_key_alias(app)}?region={region}"
