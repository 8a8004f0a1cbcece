"""The Lambda runtime and the one layer every function uses, pinned in one place.

Third-party libraries come from the public Powertools for AWS Lambda (Python) v3 layer, published
by AWS in every commercial region from account 017000801446. It is built with
``aws-lambda-powertools[all]``, so it carries pydantic (Parser), aws-xray-sdk (Tracer) and
fastjsonschema besides Powertools itself; boto3 comes with the Lambda runtime. The functions'
own code is bundled by :mod:`txn_infra.bundle`. Bump ``POWERTOOLS_LAYER_VERSION`` (and the
``aws-lambda-powertools`` bound in ``pyproject.toml``) together; the stack tests pin both.
"""

from __future__ import annotations

from typing import Literal

Architecture = Literal["arm64", "x86_64"]

PYTHON_RUNTIME = "python3.13"
POWERTOOLS_LAYER_ACCOUNT = "017000801446"
POWERTOOLS_LAYER_VERSION = 27


def powertools_layer_arn(region: str, architecture: Architecture) -> str:
    """ARN of the public Powertools v3 layer for ``region``, the runtime and ``architecture``.

    >>> powertools_layer_arn("us-east-2", "arm64")
    'arn:aws:lambda:us-east-2:017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-arm64:27'
    """
    python = PYTHON_RUNTIME.replace(".", "")
    return (
        f"arn:aws:lambda:{region}:{POWERTOOLS_LAYER_ACCOUNT}:layer:"
        f"AWSLambdaPowertoolsPythonV3-{python}-{architecture}:{POWERTOOLS_LAYER_VERSION}"
    )
