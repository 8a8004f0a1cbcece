"""The Lambda runtime and the one layer every function uses, pinned in one place.

Third-party libraries come from the public Powertools for AWS Lambda (Python) v3 layer, published
by AWS in every commercial region from account 017000801446. It is built with
``aws-lambda-powertools[all]``, so it carries pydantic (Parser), aws-xray-sdk (Tracer) and
fastjsonschema besides Powertools itself; boto3 comes with the Lambda runtime. The functions'
own code is bundled by :mod:`txn_infra.bundle`.

The layer version is derived from the Powertools release: AWS numbers layer versions one after
another, across releases, and publishes the mapping as the public SSM parameter
``/aws/service/powertools/python/<arch>/<runtime>/<release>`` (see :func:`ssm_parameter`).
To upgrade: bump ``aws-lambda-powertools`` in ``pyproject.toml``, ``./noxw -s lock``, set
:data:`POWERTOOLS_RELEASE` and add the release's layer version to :data:`LAYER_VERSIONS`
(``aws ssm get-parameter --name`` that parameter). For 3.23.0 AWS's release job wrote the
parameters under a wrong path (powertools-lambda-python issue 7689, fixed for later releases):
check a version with ``aws lambda get-layer-version-by-arn --arn <powertools_layer_arn(...)>``,
which also shows that the arm64 layer of that number exists. ``tests/unit/ops/test_pins.py``
fails while the lock, the installed package and this module disagree.

Tests run on the CPython that ``./noxw`` finds (3.11 or newer; 3.11 on this project's machines,
whose package registries offer no 3.13 interpreter) while the functions run on
:data:`PYTHON_RUNTIME`. What that leaves open, and how it is covered: the functions' code is
checked by mypy against 3.13's standard library as well as 3.11's (``./noxw -s typecheck``), so
a module or signature 3.13 removed fails there; the third-party packages are the layer's, built
by AWS for 3.13 from the same Powertools release the tests run (:func:`txn_ops.pins.drift`); a
behaviour difference inside CPython itself is the remaining gap, closed only by a deployed
smoke test.
"""

from __future__ import annotations

from typing import Literal

Architecture = Literal["arm64", "x86_64"]

PYTHON_RUNTIME = "python3.13"
POWERTOOLS_LAYER_ACCOUNT = "017000801446"
# The Powertools release the functions run with; uv.lock pins the same one for the tests.
POWERTOOLS_RELEASE = "3.23.0"
# Layer version of each release (the same in every commercial region and both architectures);
# 3.23.0 -> 27: the SSM parameter .../python3.13/latest pointed at 27 when 3.23.0 shipped
# (powertools-lambda-python issue 7689).
LAYER_VERSIONS = {"3.23.0": 27}
POWERTOOLS_LAYER_VERSION = LAYER_VERSIONS[POWERTOOLS_RELEASE]


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


def ssm_parameter(architecture: Architecture) -> str:
    """The public SSM parameter whose value is the layer ARN of :data:`POWERTOOLS_RELEASE`.

    >>> ssm_parameter("arm64")
    '/aws/service/powertools/python/arm64/python3.13/3.23.0'
    """
    return f"/aws/service/powertools/python/{architecture}/{PYTHON_RUNTIME}/{POWERTOOLS_RELEASE}"
