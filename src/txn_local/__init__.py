"""The local runtime: the whole pipeline on one machine, no AWS account.

moto in server mode is the embedded AWS (:mod:`txn_local.embedded`); an HTTP gateway turns
``POST /transaction`` into API Gateway proxy events for the validator (:mod:`txn_local.gateway`);
SQS pollers feed the fraud detector and the failed-transaction function in batches with
partial-batch-failure semantics (:mod:`txn_local.pollers`); :mod:`txn_local.runtime` wires them
together and :mod:`txn_local.demo` drives sample traffic through it. ``python -m txn_local``.
"""
