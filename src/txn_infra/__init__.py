"""Shared infrastructure package: naming, tags, typed config, the cross-stack contract and
resource shapes. Every stack and the local runtime import from here; nothing is copied.

Modules that the Lambda bundle and the local runtime import (``naming``, ``shapes``) are pure
Python with no Pulumi import, so they load in microseconds inside a function.
"""
