"""EMF lines are dropped from the terminal, everything else passes."""

from __future__ import annotations

import io
import json

from txn_local.output import DropEmf


def test_emf_lines_are_dropped_and_other_output_kept():
    sink = io.StringIO()
    out = DropEmf(sink)
    print(json.dumps({"_aws": {"Timestamp": 1}, "Count": [1.0]}), file=out)
    print('{"level":"ERROR","message":"transaction failed"}', file=out)
    print("Summary", file=out)
    assert sink.getvalue() == '{"level":"ERROR","message":"transaction failed"}\nSummary\n'
