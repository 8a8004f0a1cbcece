"""Performance and cost model of the deployed platform: prices, quotas, capacity, cost.

``prices`` is the one table of AWS prices and default quotas (with its date and sources);
``model`` (capacity) and ``pricing`` (cost) are pure arithmetic over it. ``discovery`` reads a
stack's configuration and the resources its programs declare, ``workload`` turns them, the
benchmark's measurements and the ``assumptions`` into what one transaction consumes, ``bill``
prices it at any volume against the ``goals``, and ``report`` prints it all; ``capacity`` is the
command line (``python -m txn_perf.capacity``). ``bench`` holds the benchmarks that measure the
handlers' CPU and the local pipeline, ``coldstart`` the handlers' import time.
"""
