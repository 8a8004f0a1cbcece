"""Standard tags, applied in one place: the AWS provider's ``default_tags`` (see ``layer``).

Every resource a layer creates inherits them, so no resource has to remember them.
"""

from __future__ import annotations

from txn_infra.config import CommonConfig


def standard_tags(config: CommonConfig, *, environment: str, layer: str) -> dict[str, str]:
    return {
        "Application": config.app,
        "Environment": environment,
        "Layer": layer,
        "Owner": config.owner,
        "DataClassification": config.data_classification,
        "ManagedBy": "pulumi",
    }
