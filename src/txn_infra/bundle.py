"""Deterministic Lambda deployment packages.

A function's zip holds its own package under ``functions/``, the shared pure packages
(``txn_domain``, ``txn_adapters``) and the whole pure ``txn_spec`` package; nothing of
``txn_infra``, no tests, no caches, no Pulumi. Third-party libraries come from the Powertools
layer (see ``lambda_runtime``).

The same source gives the same bytes: entries are sorted, every entry has the same timestamp and
permissions, and caches and editor litter are skipped. So the archive's sha256 (the function's
``source_code_hash``) changes only when code changes, and an unchanged function is not redeployed.
Pure Python (no Pulumi import), so the local runtime and the tests can build the same bundle.
"""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

# 1980-01-01, the earliest timestamp a zip entry can carry.
FIXED_DATE_TIME = (1980, 1, 1, 0, 0, 0)
# Regular file, rw-r--r--: Lambda only needs to read the code.
FILE_MODE = 0o100644 << 16

SHARED_PACKAGES = ("txn_domain", "txn_adapters")
_SKIPPED_DIRS = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", "tests"})
_SKIPPED_SUFFIXES = (".pyc", ".pyo", ".swp", "~")


class BundleError(ValueError):
    """A function package or a shared package that the bundle needs is missing."""


@dataclass(frozen=True)
class Bundle:
    """A built archive: where it is, its bytes' sha256 and the entries it holds."""

    path: Path
    sha256_hex: str
    entries: tuple[str, ...]

    @property
    def source_code_hash(self) -> str:
        """base64 of the raw sha256, the form Lambda reports as ``CodeSha256``."""
        return base64.b64encode(bytes.fromhex(self.sha256_hex)).decode()


def bundle_sources(package: str, functions_dir: Path, spec_dir: Path) -> dict[str, Path]:
    """Map archive path -> source file for ``package``'s bundle, or raise BundleError."""
    roots = [functions_dir / package, *(functions_dir / shared for shared in SHARED_PACKAGES)]
    roots.append(spec_dir)
    missing = [str(root) for root in roots if not (root / "__init__.py").is_file()]
    if missing:
        raise BundleError(f"cannot bundle {package!r}: missing {', '.join(missing)}")
    sources: dict[str, Path] = {}
    for root in roots:
        for file in _package_files(root):
            sources[str(PurePosixPath(root.name, *file.relative_to(root).parts))] = file
    return dict(sorted(sources.items()))


def _package_files(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).parts
        if any(part in _SKIPPED_DIRS or part.startswith(".") for part in relative):
            continue
        if path.is_file() and not path.name.endswith(_SKIPPED_SUFFIXES):
            yield path


def archive_bytes(sources: dict[str, Path]) -> bytes:
    """The zip of ``sources`` with sorted entries, fixed timestamps and permissions."""
    buffer = io.BytesIO()
    # Stored, not deflated: deflate output depends on the zlib build (zlib-ng differs), which
    # would make the same source hash differently on a laptop and in CI. The code is small.
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name in sorted(sources):
            info = zipfile.ZipInfo(name, date_time=FIXED_DATE_TIME)
            info.external_attr = FILE_MODE
            info.create_system = 3  # Unix, so the mode bits are read the same everywhere
            archive.writestr(info, sources[name].read_bytes())
    return buffer.getvalue()


def build(package: str, *, functions_dir: Path, spec_dir: Path, out_dir: Path) -> Bundle:
    """Build ``out_dir/<package>.zip``; rewrite it only when its bytes change."""
    sources = bundle_sources(package, functions_dir, spec_dir)
    data = archive_bytes(sources)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{package}.zip"
    if not path.is_file() or path.read_bytes() != data:
        path.write_bytes(data)
    return Bundle(path=path, sha256_hex=hashlib.sha256(data).hexdigest(), entries=tuple(sources))


def build_all(
    packages: Iterable[str], *, functions_dir: Path, spec_dir: Path, out_dir: Path
) -> dict[str, Bundle]:
    return {
        p: build(p, functions_dir=functions_dir, spec_dir=spec_dir, out_dir=out_dir)
        for p in packages
    }
