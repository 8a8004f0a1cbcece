"""Each layer's deploy permissions, derived from what its program registers under the mocks.

``python -m txn_infra.deploy_permissions`` runs the six programs offline for every stack, reads
the resource types each layer registers and their names (and, for a resource that acts on
another layer's, the ARN in its inputs), and maps them through ``deploy_grants.yaml``, one entry per
resource type, to IAM statements: the control-plane actions Pulumi's AWS provider calls to
create, read, update, tag and delete that type, on that layer's resources only. The result is
``stacks/account/deploy-permissions.json``, reviewed like code (a permission change shows in the
diff) and deployed by the account project as one role per layer; ``--check`` fails when the
file and the programs disagree (a test runs it).

How a grant names its resources:

- ``arn``: a template on the resource's own physical name (``{name}``): tables, queues,
  functions, roles, log groups, alarms... are named ``txn-<env>-...``, so a grant covers exactly
  what the layer creates in each stack;
- ``via``: an input that holds another resource's ARN or name (a role passed to a function, the
  function API Gateway may invoke, the topic an email subscribes to): the grant reaches that one
  resource, with the actions it needs and no more;
- ``tagged``: resources AWS names by a generated id (VPCs, subnets, KMS keys, REST APIs): an
  action needs the resource to carry the tag ``Layer=<layer>`` (``aws:ResourceTag``); a create
  action may instead tag the new resource so in its request (``aws:RequestTag``). The
  provider's default tags (``txn_infra.tags``) set it on everything a layer creates; API
  Gateway's methods, integrations and stages inherit their REST API's tags for this.

``{boundary}`` in a grant's condition stands for every permissions boundary the layer's roles
are given (their ``permissionsBoundary``): a layer that creates roles may do so only with the
boundary its program sets, and a role without one stops the derivation.

Read-only actions without resource-level permissions (``Describe*``/``List*``) are granted on
``*`` per service the layer uses (``reads`` in the file), never a data-plane read.
Account and region are placeholders (``{account}``, ``{region}``) that the account project fills.

The provider functions a program calls (``aws.get_availability_zones_output``...) run at every
preview and deploy: the mocks record each call's token, and ``invokes`` in the file maps it to
the read actions it makes, granted on ``*`` to the layer's deploy role and, alone, to its
preview role (``previews`` in the output: a preview calls nothing else of AWS; its state reads
are the account project's ``state_read_statements``). A token missing there stops the
derivation too, so a new invoke cannot reach AWS with a permission nobody granted.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from txn_infra import offline
from txn_infra.components.security.platform import allow
from txn_spec import contract
from txn_spec.naming import physical_name_pattern

OUTPUT = offline.REPO_ROOT / "stacks" / "account" / "deploy-permissions.json"
STACKS = ("dev", "prod")
TAG_KEY = "Layer"  # txn_infra.tags.standard_tags
ACCOUNT = "{account}"
REGION = "{region}"
EC2_TAG = "ec2:CreateTags"  # allowed at creation only, for the layer's own creates
ROLE_TYPE = "aws:iam/role:Role"
BOUNDARY = '"{boundary}"'  # in a grant's condition (as JSON): the roles' permissions boundaries
Statement = dict[str, Any]
GRANTS_FILE = Path(__file__).with_name("deploy_grants.yaml")


@dataclass(frozen=True)
class Grant:
    """One entry of ``deploy_grants.yaml``: actions, and how they name their resources."""

    actions: tuple[str, ...]
    arn: tuple[str, ...] = ()  # templates on the resource's own name: {name}, {region}, {account}
    via: str | None = None  # an input holding another resource's ARN (or name, with ``arn``)
    tagged: str | None = None  # resource pattern for tag-scoped actions (generated ids)
    creates: tuple[str, ...] = ()  # of ``actions``: also allowed by the request's tag
    condition: Mapping[str, Mapping[str, Any]] | None = None
    name: str = "name"  # the input that holds the physical name
    # ``{name}`` is the stack's physical-name pattern (``txn-dev-*``), not each name: for a type
    # a layer registers many of, all named under its stack's prefix (alarms); keeps the role
    # within IAM's inline-policy size
    stack_wide: bool = False


@dataclass(frozen=True)
class Grants:
    by_type: Mapping[str, tuple[Grant, ...]]
    reads: Mapping[str, tuple[str, ...]]  # by service module: reads on "*"
    invokes: Mapping[str, tuple[str, ...]]  # by invoke token: the reads it makes, on "*"


def load_grants(path: Path = GRANTS_FILE) -> Grants:
    data = yaml.safe_load(path.read_text())
    patterns = data["tagged"]

    def grant(entry: dict[str, Any]) -> Grant:
        tagged = entry.get("tagged")
        return Grant(
            actions=tuple(entry["actions"]),
            arn=tuple(
                [entry["arn"]] if isinstance(entry.get("arn"), str) else entry.get("arn", ())
            ),
            via=entry.get("via"),
            tagged=patterns[tagged] if tagged else None,
            creates=tuple(entry.get("creates", ())),
            condition=entry.get("condition"),
            name=entry.get("name", "name"),
            stack_wide=bool(entry.get("stack_wide", False)),
        )

    return Grants(
        by_type={t: tuple(grant(e) for e in entries) for t, entries in data["types"].items()},
        reads={service: tuple(actions) for service, actions in data["reads"].items()},
        invokes={token: tuple(actions or ()) for token, actions in data["invokes"].items()},
    )


SKIPPED = ("pulumi:", "txn:")  # providers and the project's own components: no AWS call


class UnknownTypeError(RuntimeError):
    """A program registers a resource type that deploy_grants.yaml does not map to actions yet."""


class UnknownInvokeError(RuntimeError):
    """A program calls a provider function that deploy_grants.yaml does not map to actions yet."""


class UnboundedRoleError(RuntimeError):
    """A layer whose grants need permissions boundaries registers a role without one."""


def boundaries(resources: Iterable[offline.Resource], layer: str) -> list[str]:
    """The permissions boundaries of the layer's roles; every role must have one."""
    roles = [r for r in resources if r.type == ROLE_TYPE]
    unbounded = sorted(r.name for r in roles if not r.inputs.get("permissionsBoundary"))
    if unbounded:
        raise UnboundedRoleError(
            f"{layer} creates roles without a permissions boundary ({', '.join(unbounded)}); "
            "its deploy role may create roles only with one: pass permissions_boundary"
        )
    return sorted({str(r.inputs["permissionsBoundary"]) for r in roles})


def via_value(resource: offline.Resource, key: str) -> str:
    value = str(resource.inputs[key])
    if key == "queueUrl":  # https://sqs.<region>.amazonaws.com/<account>/<name>
        return value.rsplit("/", 1)[-1]
    if ":wafv2:" in value:  # .../webacl/<name>/<generated id>: the name is what is known
        return value.rsplit("/", 1)[0] + "/*"
    return value


def invoke_actions(tokens: Iterable[str], layer: str, grants: Grants) -> set[str]:
    """The read actions of the provider functions the layer's program calls."""
    actions: set[str] = set()
    for token in tokens:
        if token not in grants.invokes:
            raise UnknownInvokeError(
                f"{layer} calls {token}, which {GRANTS_FILE.name} does not map to IAM actions: "
                "add it under invokes (the read actions it makes; [] when it calls no AWS API "
                "that needs a permission), then run python -m txn_infra.deploy_permissions"
            )
        actions.update(grants.invokes[token])
    return actions


def _stack_pattern(name: str, patterns: Iterable[str], type_: str) -> str:
    matching = [p for p in patterns if fnmatch.fnmatchcase(name, p)]
    if len(matching) != 1:
        raise ValueError(f"{type_} {name!r} is under {matching or 'no'} stack name pattern")
    return matching[0]


def _statements(
    resources: Iterable[offline.Resource],
    layer: str,
    grants: Grants,
    invokes: Iterable[str] = (),
    name_patterns: Iterable[str] = (),
) -> list[Statement]:
    """``name_patterns``: each stack's physical-name pattern, for the ``stack_wide`` grants."""
    # (actions, condition) -> resources; (actions, resource, condition) -> values of its {via}
    named: dict[tuple[tuple[str, ...], str], set[str]] = {}
    keyed: dict[tuple[tuple[str, ...], str, str], set[str]] = {}
    tagged: dict[str, set[str]] = {}
    creates: dict[str, set[str]] = {}
    reads = invoke_actions(invokes, layer, grants)
    resources = list(resources)
    for resource in resources:
        if resource.type.startswith(SKIPPED):
            continue
        if resource.type not in grants.by_type:
            raise UnknownTypeError(
                f"{layer} registers {resource.type}, which {GRANTS_FILE.name} does not map to "
                "IAM actions: add it (the actions its create, read, update and delete call), "
                "then run python -m txn_infra.deploy_permissions"
            )
        reads.update(grants.reads.get(offline.service_of(resource.type), ()))
        for grant in grants.by_type[resource.type]:
            actions = tuple(sorted(grant.actions))
            if grant.tagged:
                tagged.setdefault(grant.tagged, set()).update(actions)
                creates.setdefault(grant.tagged, set()).update(grant.creates)
                continue
            via = via_value(resource, grant.via) if grant.via else ""
            condition = json.dumps(grant.condition or {}, sort_keys=True)
            if "{via}" in condition:  # one statement, the condition lists every value
                for arn in grant.arn or ("*",):
                    keyed.setdefault((actions, arn, condition), set()).add(via)
                continue
            name = str(resource.inputs.get(grant.name) or resource.physical_name)
            if grant.stack_wide:
                name = _stack_pattern(name, name_patterns, resource.type)
            named.setdefault((actions, condition), set()).update(
                template.format(name=name, via=via, region=REGION, account=ACCOUNT)
                for template in grant.arn or ("{via}",)
            )
    if any(BOUNDARY in condition for _, condition in named):
        bounds = json.dumps(boundaries(resources, layer))
        named = {(a, c.replace(BOUNDARY, bounds)): arns for (a, c), arns in named.items()}
    out = [
        _statement(actions, sorted(arns), json.loads(condition))
        for (actions, condition), arns in sorted(named.items())
    ]
    for (actions, arn, condition), values in sorted(keyed.items()):
        filled = json.loads(condition.replace('"{via}"', json.dumps(sorted(values))))
        out.append(_statement(actions, arn.format(region=REGION, account=ACCOUNT), filled))
    for pattern in sorted(tagged):
        resource_tag = {"StringEquals": {f"aws:ResourceTag/{TAG_KEY}": layer}}
        out.append(_statement(tuple(sorted(tagged[pattern])), pattern, resource_tag))
        request_tag = {f"aws:RequestTag/{TAG_KEY}": layer}
        made = creates[pattern] - {EC2_TAG}
        if made:
            out.append(_statement(tuple(sorted(made)), pattern, {"StringEquals": request_tag}))
        if EC2_TAG in creates[pattern]:  # tagging only as part of this layer's own creates
            at_create = {**request_tag, "ec2:CreateAction": sorted(made)}
            out.append(_statement((EC2_TAG,), pattern, {"StringEquals": at_create}))
    if reads:
        out.append(_statement(tuple(sorted(reads)), "*", {}))
    return out


def _statement(actions: tuple[str, ...], resource: str | list[str], condition: Any) -> Statement:
    return allow(None, actions, resource, condition)


def run_stacks(stacks: Iterable[str] = STACKS) -> dict[str, dict[str, offline.LayerRun]]:
    return {stack: offline.run_system(stack=stack) for stack in stacks}


def derive(
    runs: Mapping[str, Mapping[str, offline.LayerRun]], grants: Grants | None = None
) -> dict[str, list[Statement]]:
    """Each layer's statements, for what it registers and calls in every stack of ``runs``."""
    grants = grants or load_grants()
    registered: dict[str, list[offline.Resource]] = {name: [] for name in contract.LAYERS}
    patterns = []
    for stack, layers in runs.items():
        config = offline.stack_config(contract.NETWORK, stack)
        region = config.get("aws:region", "us-east-2")
        patterns.append(physical_name_pattern(config[f"{contract.NETWORK.project}:app"], stack))
        generated = generated_ids(layers, grants)
        for name, run in layers.items():
            registered[name] += [_placeholders(r, region, generated) for r in run.resources]
    invoked = _invoked(runs)
    return {
        name: _statements(found, name, grants, invoked[name], patterns)
        for name, found in registered.items()
    }


def derive_previews(
    runs: Mapping[str, Mapping[str, offline.LayerRun]], grants: Grants | None = None
) -> dict[str, list[Statement]]:
    """Each layer's preview statements besides its state: the reads of the provider functions
    its program calls in every stack of ``runs``, on "*"; none when it calls none that needs a
    permission."""
    grants = grants or load_grants()
    previews: dict[str, list[Statement]] = {}
    for name, tokens in _invoked(runs).items():
        actions = invoke_actions(tokens, name, grants)
        previews[name] = [_statement(tuple(sorted(actions)), "*", {})] if actions else []
    return previews


def _invoked(runs: Mapping[str, Mapping[str, offline.LayerRun]]) -> dict[str, set[str]]:
    """The invoke tokens each layer's program called, in any stack of ``runs``."""
    invoked: dict[str, set[str]] = {name: set() for name in contract.LAYERS}
    for layers in runs.values():
        for name, run in layers.items():
            invoked[name].update(run.invokes)
    return invoked


def generated_ids(layers: Mapping[str, offline.LayerRun], grants: Grants) -> set[str]:
    """The ids the offline run gave resources whose ids AWS generates (the ``tagged`` types)."""
    return {
        r.id
        for run in layers.values()
        for r in run.resources
        if any(g.tagged for g in grants.by_type.get(r.type, ()))
    }


def _placeholders(
    resource: offline.Resource, region: str, generated: Iterable[str] = ()
) -> offline.Resource:
    """The resource with the offline account id and the stack's region as placeholders, and
    ``*`` for the ids AWS generates (``generated``, matched as whole ids): a name built from a
    REST API's id, such as its execution-log group, is known on a real deploy only once the API
    exists."""
    text = json.dumps(resource.inputs, default=str)
    text = text.replace(offline.ACCOUNT_ID, ACCOUNT).replace(region, REGION)
    if ids := sorted(generated, key=len, reverse=True):
        alternatives = "|".join(map(re.escape, ids))
        whole = re.compile(rf"(?<![A-Za-z0-9-])(?:{alternatives})(?![A-Za-z0-9-])")
        text = whole.sub("*", text)
    return replace(resource, inputs=json.loads(text))


def document(runs: Mapping[str, Mapping[str, offline.LayerRun]]) -> str:
    body = {
        "generated_by": "python -m txn_infra.deploy_permissions (do not edit by hand)",
        "stacks": list(runs),
        "layers": derive(runs),
        "previews": derive_previews(runs),
    }
    return json.dumps(body, indent=2) + "\n"


def load(path: Path = OUTPUT) -> dict[str, list[Statement]]:
    """The checked-in statements per layer, as the account project deploys them."""
    return dict(json.loads(path.read_text())["layers"])


def load_previews(path: Path = OUTPUT) -> dict[str, list[Statement]]:
    """The checked-in preview statements per layer (besides the state reads)."""
    return dict(json.loads(path.read_text())["previews"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m txn_infra.deploy_permissions")
    parser.add_argument("--check", action="store_true", help="fail when the file is stale")
    args = parser.parse_args(argv)
    text = document(run_stacks())
    if args.check:
        if not OUTPUT.is_file() or OUTPUT.read_text() != text:
            print(
                f"{OUTPUT.relative_to(offline.REPO_ROOT)} is stale: the programs register other "
                "resources than it grants; run python -m txn_infra.deploy_permissions",
                file=sys.stderr,
            )
            return 1
        print(f"{OUTPUT.relative_to(offline.REPO_ROOT)} matches the programs")
        return 0
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT.relative_to(offline.REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
