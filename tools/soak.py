"""Soak the claims state machine: N random steps against the reference model.

Runs ``tests/test_state_machine.py``'s ``ClaimsMachine`` (the model's libxc and
hypervisor faces against ``tests/reference_model.ClaimsReference``) in fresh,
randomised hypothesis rounds until N steps are done, with a progress bar, then
prints a summary: steps, examples, seconds, what was covered, and the shrunk
failing sequence if a discrepancy or broken invariant was found.

    python tools/soak.py 1000000            # 20-30 minutes on one core
    python tools/soak.py 20000 --steps-per-example 200

Exit status: 0 when no discrepancy was found, 1 otherwise.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def load_machine_module():  # type: ignore[no-untyped-def]
    path = ROOT / "tests" / "test_state_machine.py"
    sys.path.insert(0, str(path.parent))  # the state machine imports tests/reference_model.py
    spec = importlib.util.spec_from_file_location("claims_state_machine", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("steps", nargs="?", type=int, default=20000, help="steps to run (20000)")
    ap.add_argument("--steps-per-example", type=int, default=100, help="steps of one example (100)")
    ap.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = ap.parse_args(argv)
    sm = load_machine_module()
    summary = sm.soak(
        args.steps, progress=not args.no_progress, steps_per_example=args.steps_per_example
    )
    print(sm.format_summary(summary))
    return 1 if summary["failure"] else 0


if __name__ == "__main__":
    sys.exit(main())
