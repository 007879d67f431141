"""Compile the model's hot modules with mypyc, in place (README, Speed).

    python tools/build_core.py          # build (about 15 s on two cores)
    python tools/build_core.py --clean  # remove the build: back to pure Python

The same source runs either way; ``claims.core_build()`` tells which is loaded,
and ``python -m claims.kit.bench`` prints it.  A build is tied to the sources it
was made from: if one of them changes, ``import claims`` warns and loads the
pure-Python modules instead of the stale build (``claims/kit/core_build.py``).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "claims"


def _core_settings() -> tuple[tuple[str, ...], str]:
    """The module list and manifest name of ``claims.kit.core_build``, without importing claims."""
    spec = importlib.util.spec_from_file_location(
        "_claims_core_settings", PKG / "kit" / "core_build.py"
    )
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.COMPILED_MODULES, mod.MANIFEST


COMPILED_MODULES, MANIFEST = _core_settings()


def source(module: str) -> Path:
    """The ``.py`` file of a module named as in ``COMPILED_MODULES`` (``hypervisor.events``)."""
    return PKG / (module.replace(".", "/") + ".py")


def built_files() -> list[Path]:
    """The files a build leaves in the package: one extension per module and the runtime."""
    stems = {source(m).with_suffix("") for m in COMPILED_MODULES} | {PKG / "core__mypyc"}
    out = [
        p
        for p in sorted(PKG.rglob("*"))
        if p.suffix in (".so", ".pyd") and p.parent / p.name.split(".")[0] in stems
    ]
    manifest = PKG / MANIFEST
    return out + ([manifest] if manifest.exists() else [])


def clean() -> None:
    for p in built_files():
        p.unlink()
        print(f"removed {p.relative_to(ROOT)}")


MYPY_NEEDED = (2, 4)  # @mypyc_attr(acyclic=..., free_list_len=...), as tested


def build() -> None:
    try:
        import mypy.version
        from mypyc.build import mypycify
        from setuptools import setup
    except ImportError as e:
        sys.exit(f"build_core: {e.name} is missing: pip install -e '.[dev]' brings mypy")
    have = tuple(int(x) for x in mypy.version.__version__.split("+")[0].split(".")[:2])
    if have < MYPY_NEEDED:
        need = ".".join(map(str, MYPY_NEEDED))
        sys.exit(
            f"build_core: mypyc {mypy.version.__version__} is too old: pip install 'mypy>={need}'"
        )

    clean()
    sources = [str(source(m).relative_to(ROOT)) for m in COMPILED_MODULES]
    print(f"compiling {', '.join(COMPILED_MODULES)} with mypyc (about 15 s on two cores) ...")
    os.chdir(ROOT)
    warnings.filterwarnings("ignore", message=".*is still \\*beta\\*")  # setuptools' own note
    with tempfile.TemporaryDirectory() as tmp:
        setup(
            name="claims-core",
            ext_modules=mypycify(sources, opt_level="3", group_name="claims.core"),
            script_args=["-q", "build_ext", "--inplace", "--build-temp", tmp],
        )
    shutil.rmtree(ROOT / "build", ignore_errors=True)
    digests = {m: hashlib.sha256(source(m).read_bytes()).hexdigest() for m in COMPILED_MODULES}
    manifest = {"mypyc": digests, "python": sys.version}
    (PKG / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
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
