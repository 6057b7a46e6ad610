"""Refresh the vendored browser assets (`make vendor`) and their MANIFEST files.

Each asset is taken from its npm package with `npm pack`, so whatever registry npm is
configured with is used; no host is named here. The MANIFEST beside the files lists
name, version, licence, sha256 and the package each came from; tests check the hashes.

Usage: python tools/vendor.py            # fetch the pinned versions below
       python tools/vendor.py --check    # only verify the files against their MANIFEST
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Asset:
    """One file of one npm package, and where it goes."""

    package: str
    version: str
    member: str  # the file inside the package's tarball, below package/
    folder: Path
    name: str  # the file name it is saved as


ASSETS = (
    # The console's progressive JavaScript and its chart library (console/static/vendor).
    Asset("htmx.org", "2.0.11", "dist/htmx.min.js", ROOT / "console/static/vendor",
          "htmx.min.js"),
    Asset("chart.js", "4.6.1", "dist/chart.umd.min.js", ROOT / "console/static/vendor",
          "chart.umd.min.js"),
    # The accessibility checker the browser tests run on every page (tests/browser).
    Asset("axe-core", "4.11.4", "axe.min.js", ROOT / "tests/browser/vendor", "axe.min.js"),
)
MANIFEST = "MANIFEST"


def sha256(path: Path) -> str:
    """Return a file's SHA-256, in hex."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fetch(asset: Asset, work: Path) -> dict[str, str]:
    """Download one asset with `npm pack` and return its MANIFEST line's fields."""
    spec = f"{asset.package}@{asset.version}"
    packed = subprocess.run(["npm", "pack", spec, "--json", "--pack-destination", str(work)],
                            capture_output=True, text=True, check=True, cwd=work)
    tarball = work / json.loads(packed.stdout)[0]["filename"]
    with tarfile.open(tarball) as tar:
        meta = json.load(tar.extractfile("package/package.json"))  # type: ignore[arg-type]
        data = tar.extractfile(f"package/{asset.member}")
        if data is None:
            raise SystemExit(f"{spec} has no {asset.member}")
        target = asset.folder / asset.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data.read())
    return {"name": asset.name, "version": meta["version"], "licence": meta["license"],
            "sha256": sha256(target), "package": f"npm:{spec}/{asset.member}"}


def read_manifest(folder: Path) -> list[dict[str, str]]:
    """Return a MANIFEST's entries (tab-separated, with a header line)."""
    lines = (folder / MANIFEST).read_text().splitlines()
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:] if line]


def write_manifest(folder: Path, entries: list[dict[str, str]]) -> None:
    """Write a MANIFEST: name, version, licence, sha256 and the package, one per line."""
    fields = ["name", "version", "licence", "sha256", "package"]
    text = "\n".join(["\t".join(fields)] + ["\t".join(e[f] for f in fields) for e in entries])
    (folder / MANIFEST).write_text(text + "\n")


def check() -> list[str]:
    """Return what differs between the vendored files and their MANIFEST."""
    wrong = []
    for folder in sorted({a.folder for a in ASSETS}):
        for entry in read_manifest(folder):
            path = folder / entry["name"]
            if not path.exists() or sha256(path) != entry["sha256"]:
                wrong.append(str(path.relative_to(ROOT)))
    return wrong


def main() -> None:
    """Fetch every asset (or, with --check, verify them)."""
    if "--check" in sys.argv[1:]:
        wrong = check()
        if wrong:
            raise SystemExit(f"not as their MANIFEST says: {', '.join(wrong)}")
        print("vendored assets match their MANIFEST")
        return
    by_folder: dict[Path, list[dict[str, str]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for asset in ASSETS:
            by_folder.setdefault(asset.folder, []).append(fetch(asset, Path(tmp)))
            print(f"{asset.package}@{asset.version} -> {asset.folder / asset.name}")
    for folder, entries in by_folder.items():
        write_manifest(folder, entries)


if __name__ == "__main__":
    main()
