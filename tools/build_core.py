"""Compile the model's hot modules with mypyc, in place (README, Speed).

    python tools/build_core.py          # build (about a minute on two cores)
    python tools/build_core.py --clean  # remove the build: back to pure Python

The same source runs either way; ``claims.core_build()`` tells which is loaded,
and ``python -m claims.bench`` prints it.  A build is tied to the sources it
was made from: if one of them changes, ``import claims`` warns and loads the
pure-Python modules instead of the stale build (``claims/_core.py``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "claims"
sys.path.insert(0, str(ROOT))

from claims._core import COMPILED_MODULES, MANIFEST  # noqa: E402


def built_files() -> list[Path]:
    """The files a build leaves in the package: one extension per module and the runtime."""
    out = [
        p for p in PKG.glob("*.so") if p.name.split(".")[0] in {*COMPILED_MODULES, "core__mypyc"}
    ]
    out += [p for p in PKG.glob("*.pyd")]
    manifest = PKG / MANIFEST
    return out + ([manifest] if manifest.exists() else [])


def clean() -> None:
    for p in built_files():
        p.unlink()
        print(f"removed {p.relative_to(ROOT)}")


def build() -> None:
    from mypyc.build import mypycify
    from setuptools import setup

    clean()
    sources = [f"claims/{m}.py" for m in COMPILED_MODULES]
    os.chdir(ROOT)
    with tempfile.TemporaryDirectory() as tmp:
        setup(
            name="claims-core",
            ext_modules=mypycify(sources, opt_level="3", group_name="claims.core"),
            script_args=["build_ext", "--inplace", "--build-temp", tmp, "-q"],
        )
    shutil.rmtree(ROOT / "build", ignore_errors=True)
    digests = {
        m: hashlib.sha256((PKG / f"{m}.py").read_bytes()).hexdigest() for m in COMPILED_MODULES
    }
    (PKG / MANIFEST).write_text(json.dumps({"mypyc": digests}, indent=1) + "\n")
    for p in built_files():
        print(f"built {p.relative_to(ROOT)}")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--clean", action="store_true", help="remove the build")
    args = ap.parse_args()
    clean() if args.clean else build()


if __name__ == "__main__":
    main()
