"""Entry point: ``python -m txn_ops <command> ...``."""

import sys

from txn_ops.cli import main

sys.exit(main())
