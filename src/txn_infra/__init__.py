"""The infrastructure package: typed config, tags, the layer context, the components each stack
builds, the Lambda bundle and the offline (mocked) run of the stack programs.

What the stacks share with the functions and the local runtime (names, shapes, the contract,
the API schema, the runtime pins, the invariants) is the pure package :mod:`txn_spec`.
"""
