"""``python -m claims run FILE [--semantics master,v7,v8] [--html OUT]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .review.scenario import ScenarioError, load, shipped
from .series import RULE_SETS


def _semantics(text: str) -> list[str]:
    names = [s.strip() for s in text.split(",") if s.strip()]
    bad = [s for s in names if s not in RULE_SETS]
    if not names or bad:
        raise argparse.ArgumentTypeError(
            f"rule sets are a comma-separated list of {sorted(RULE_SETS)}; got {text!r}"
        )
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m claims", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="replay a scenario file under one or more rule sets")
    run.add_argument("file", type=Path, help="a .yaml/.json file, or the name of a shipped one")
    run.add_argument(
        "--semantics",
        type=_semantics,
        default=["master", "v7", "v8"],
        help=f"comma-separated versions of the series, of {', '.join(sorted(RULE_SETS))} "
        "(default: master,v7,v8)",
    )
    run.add_argument("--html", type=Path, help="also write a self-contained HTML report")
    args = parser.parse_args(argv)

    from .review.report import text
    from .review.runner import compare
    from .views.report import html_report

    if not args.file.exists() and args.file.suffix == "":
        try:
            args.file = shipped(str(args.file))  # a scenario that comes with the kit
        except ValueError as e:
            print(f"refused: {e}", file=sys.stderr)
            return 2
    try:
        sc = load(args.file)
    except ScenarioError as e:
        print(f"{args.file}: refused: {e}", file=sys.stderr)
        return 2
    cmp = compare(sc, args.semantics)
    print(text(cmp))
    if args.html:
        args.html.write_text(html_report(cmp), encoding="utf-8")
        print(f"\nreport written to {args.html}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
