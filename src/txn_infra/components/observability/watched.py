"""What observability watches, the period of its metrics, and where its alerts point."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi

RUNBOOK = "docs/runbooks.md"
PERIOD = 60


def runbook_link(anchor: str) -> str:
    return f"Runbook: {RUNBOOK}#{anchor}"


@dataclass(frozen=True)
class Watched:
    """What the alarms and the dashboard watch, by physical name."""

    region: str
    # shape.component -> function name, also its metrics' ``service`` (POWERTOOLS_SERVICE_NAME)
    function_names: Mapping[str, pulumi.Input[str]]
    api_name: str
    web_acl_name: str  # also the web ACL's metric name (txn_infra.components.edge.firewall)
    stage_name: pulumi.Input[str]
    # The stage's access log group, the API's audit trail: its IncomingLogEvents say it is fed.
    access_log_group_name: pulumi.Input[str]
    # The requests refused 429, counted from the access log by edge (METRICS_NAMESPACE).
    throttled_metric_name: str
    # The VPC's flow log group (this layer's own), the network's audit trail.
    flow_log_group_name: str
    queue_name: pulumi.Input[str]
    dead_letter_queue_names: Mapping[str, pulumi.Input[str]]  # label -> queue name
    table_names: Mapping[str, pulumi.Input[str]]  # table component -> table name
    # table component -> its global secondary indexes: their throttles are metrics of their own
    table_indexes: Mapping[str, Sequence[str]] = field(default_factory=dict)

    @property
    def api_dimensions(self) -> dict[str, pulumi.Input[str]]:
        """The stage's totals (both routes), as API Gateway publishes them."""
        return {"ApiName": self.api_name, "Stage": self.stage_name}

    @property
    def web_acl_dimensions(self) -> dict[str, str]:
        """The web ACL's totals, as WAF publishes them: every rule (``Rule`` ``ALL``), and the
        ``Region`` a REGIONAL web ACL's metrics carry."""
        return {"WebACL": self.web_acl_name, "Rule": "ALL", "Region": self.region}
