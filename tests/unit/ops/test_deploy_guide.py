"""docs/deploy.md's commands that nothing else runs: the account bootstrap and the CLI minimum."""

from __future__ import annotations

import re

import yaml

from txn_ops import settings as cfg

GUIDE = cfg.REPO_ROOT / cfg.GUIDE
# The first CLI whose project schema accepts `type: object` (pulumi/pulumi#20129, 3.186.0).
OBJECT_CONFIG_SINCE = (3, 186)
# The first CLI that does not fail an update on an ignoreChanges path the resource's old inputs
# lack (pulumi/pulumi#20278, 3.190.0): the data layer ignores a table's warm throughput, which a
# table created before it was configured lacks.
IGNORE_MISSING_PATHS_SINCE = (3, 190)


def bootstrap_commands() -> list[str]:
    text = GUIDE.read_text()
    block = text.split("**The chicken and the egg.**", 1)[1].split("```bash\n", 1)[1]
    lines = block.split("```", 1)[0].splitlines()
    return [line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip()]


def at(commands: list[str], start: str) -> int:
    (index,) = [i for i, c in enumerate(commands) if c.startswith(start)]
    return index


def test_the_bootstrap_moves_the_local_stack_to_kms_before_exporting_it() -> None:
    # `pulumi stack import` keeps the exported state's secrets provider: a passphrase one would
    # ask for the passphrase once it is unset (non-interactively: fail)
    commands = bootstrap_commands()

    kms = at(commands, 'pulumi stack change-secrets-provider -s us-east-2 "$SECRETS"')
    assert kms < at(commands, "pulumi stack export")
    assert at(commands, "pulumi stack import") < at(commands, "unset PULUMI_CONFIG_PASSPHRASE")
    assert at(commands, "unset PULUMI_CONFIG_PASSPHRASE") < at(commands, "pulumi preview")


def test_the_cli_minimum_loads_every_project_file() -> None:
    found = re.search(r"\*\*The Pulumi CLI\*\*, (\d+)\.(\d+) or newer", GUIDE.read_text())
    assert found, "deploy.md no longer states the CLI minimum"
    minimum = (int(found[1]), int(found[2]))
    types = {
        declared.get("type")
        for project in (cfg.REPO_ROOT / "stacks").glob("*/Pulumi.yaml")
        for declared in (yaml.safe_load(project.read_text()).get("config") or {}).values()
        if isinstance(declared, dict)
    }
    assert "object" in types
    assert minimum >= OBJECT_CONFIG_SINCE
    assert minimum >= IGNORE_MISSING_PATHS_SINCE
