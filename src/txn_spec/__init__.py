"""The spec: the facts the stacks, the functions and the local runtime share, stated once.

Pure Python with no Pulumi or boto3 import, shipped whole in every Lambda bundle:

- :mod:`~txn_spec.shapes`: tables, queues, topic, functions, event sources, environment names;
- :mod:`~txn_spec.naming`: the one naming function (``txn-<env>-<component>``);
- :mod:`~txn_spec.contract`: each layer's Pulumi project and the outputs it exports;
- :mod:`~txn_spec.api_schema` and :mod:`~txn_spec.api_responses`: the request schema from
  ``api/openapi.yaml`` and every gateway error answer;
- :mod:`~txn_spec.lambda_runtime`: the Python runtime and the Powertools layer release;
- :mod:`~txn_spec.invariants`: the rules every consumer of these facts checks the same way;
- :mod:`~txn_spec.dashboard`: the operations dashboard's widgets (CloudWatch and local page).
"""
