"""The kit's command line.

python -m claims run FILE [--semantics master,v7,v8] [--html OUT]
python -m claims app [VOILA OPTIONS]
python -m claims site OUT_DIR
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DEFAULT_SEMANTICS = ["master", "v7", "v8"]
USAGE = """\
replay a scenario under several versions of the series, or open the dashboard

examples:
  python -m claims run parallel-builds                  a scenario shipped with the kit
  python -m claims run my.yaml --semantics v7,v8 --html report.html
  python -m claims app                                  the claims explorer in Voilà
  python -m claims site site/                           the walkthrough as a static site
"""


def _rule_sets() -> list[str]:
    from .series import RULE_SETS

    return sorted(RULE_SETS)


def _semantics(text: str) -> list[str]:
    names = [s.strip() for s in text.split(",") if s.strip()]
    known = _rule_sets()
    bad = [s for s in names if s not in known]
    if not names or bad:
        raise argparse.ArgumentTypeError(
            f"a comma-separated list of {', '.join(known)}; got {text!r}"
        )
    return names


def parser() -> argparse.ArgumentParser:
    """The command line's parser (no model is loaded to build it)."""
    p = argparse.ArgumentParser(
        prog="python -m claims",
        description=USAGE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="{run,app,site}")
    run = sub.add_parser(
        "run",
        help="replay a scenario file under one or more versions of the series",
        description="Replay a scenario file under one or more versions of the series and "
        "print, step by step, where they differ; --html also writes a report.",
    )
    run.add_argument("file", type=Path, help="a .yaml/.json file, or the name of a shipped one")
    run.add_argument(
        "--semantics",
        type=_semantics,
        default=DEFAULT_SEMANTICS,
        metavar="LIST",
        help="comma-separated versions of the series to compare, each one of "
        f"{', '.join(_rule_sets())} (default: {','.join(DEFAULT_SEMANTICS)})",
    )
    run.add_argument(
        "--html",
        type=Path,
        metavar="OUT",
        help="also write a self-contained HTML report to OUT (its folder must exist)",
    )
    app = sub.add_parser(
        "app",
        help="open the claims explorer dashboard in Voilà (offline)",
        description="Serve notebooks/apps/claims-explorer.ipynb with Voilà and the kit's "
        "template (no CDN, no code). Other options go to Voilà, e.g. --no-browser "
        "--port=8866.",
    )
    app.set_defaults(voila_args=[])
    sub.add_parser(
        "site",
        help="build the walkthrough as a static site (Sphinx + MyST-NB, offline)",
        description="Build the notebooks (executed), the design notes, the API, the scenario "
        "reports and the speed tables into OUT_DIR. Options: OUT_DIR [--no-execute] [--verbose].",
        add_help=False,
    )
    return p


def main(argv: list[str] | None = None) -> int:
    p = parser()
    args, rest = p.parse_known_args(argv)
    if args.command == "site":
        from .kit.site import main as site_main

        return site_main(rest)
    if rest and args.command != "app":
        p.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.command == "app":
        args.voila_args = rest  # Voilà's own options
        from .kit.app import main as app_main

        try:
            return app_main(args.voila_args)
        except FileNotFoundError as e:
            print(f"refused: {e}", file=sys.stderr)
            return 2
    return _run(args)


def _run(args: argparse.Namespace) -> int:
    try:
        from .review.scenario import ScenarioError, load, shipped
    except ImportError as e:  # pip install claims without its review extra
        print(f"refused: scenario files need {e.name}: pip install 'claims[review]'",
              file=sys.stderr)  # fmt: skip
        return 2

    if args.html is not None and not args.html.parent.is_dir():
        print(f"refused: --html {args.html}: the folder {args.html.parent} does not exist",
              file=sys.stderr)  # fmt: skip
        return 2
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
    from .review.report import text
    from .review.runner import compare
    from .views.report import html_report

    cmp = compare(sc, args.semantics)
    print(text(cmp))
    if args.html:
        try:
            args.html.write_text(html_report(cmp), encoding="utf-8")
        except OSError as e:
            print(f"refused: --html {args.html}: {e.strerror}", file=sys.stderr)
            return 2
        print(f"\nreport written to {args.html}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # the reader closed the pipe (| head): stop quietly
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
