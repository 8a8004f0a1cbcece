"""edge: the REST API in front of the validator, its API keys and its web application firewall.

``POST /transaction`` and ``POST /fraud-reports`` (ADR 0013) require an API key, validate the
body against the model generated from the OpenAPI document before any function runs, and proxy
to the validator. The default endpoint speaks TLS 1.2 or later only. The stage traces with
X-Ray, writes JSON access logs (no bodies, no headers) to a CMK-encrypted audit log group, and
never enables data tracing, which would log card data. WAF sits in front of the stage.

One module per component: ``api`` (the REST API and its stage), ``api_keys`` (the keys and their
usage plans) and ``firewall`` (WAF).
"""

from txn_infra.components.edge.api import (
    ACCESS_LOG_FORMAT,
    ENDPOINT_ACCESS_MODE,
    TLS_SECURITY_POLICY,
    TransactionApi,
    TransactionApiArgs,
)
from txn_infra.components.edge.api_keys import ApiKeyPlan, ApiKeyPlanArgs, ProviderKey
from txn_infra.components.edge.firewall import (
    MANAGED_RULE_GROUPS,
    WAF_LOGGED_ACTIONS,
    ApiFirewall,
    ApiFirewallArgs,
    waf_logging_filter,
)

__all__ = [
    "ACCESS_LOG_FORMAT",
    "ENDPOINT_ACCESS_MODE",
    "MANAGED_RULE_GROUPS",
    "TLS_SECURITY_POLICY",
    "WAF_LOGGED_ACTIONS",
    "ApiFirewall",
    "ApiFirewallArgs",
    "ApiKeyPlan",
    "ApiKeyPlanArgs",
    "ProviderKey",
    "TransactionApi",
    "TransactionApiArgs",
    "waf_logging_filter",
]
