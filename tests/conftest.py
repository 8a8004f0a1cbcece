"""Root test configuration."""

# Import hypothesis at collection time, at a shallow stack depth. Imported lazily inside the
# Pulumi runtime's nested event-loop pumping (txn_infra.offline), pytest's assertion rewriting of
# hypothesis trips CPython 3.11's "AST constructor recursion depth mismatch".
import hypothesis  # noqa: F401
