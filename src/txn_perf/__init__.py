"""Performance and cost model of the deployed platform: prices, quotas, capacity, cost.

``prices`` is the one table of AWS prices and default quotas (with its date and sources);
``model`` is pure arithmetic over it; ``capacity`` reads a stack's configuration, the resources
its programs declare and the benchmark's measurements, and prints the capacity and cost tables.
"""
