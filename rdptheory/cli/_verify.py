"""``rdptheory verify``: check every claim of the theory and print the verdict table."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``verify`` sub-command."""
    p = subparsers.add_parser(
        "verify",
        help="check every claim (symbolic + numeric) and print a verdict table",
        description="Run rdptheory.proofs_check: one check per claim, verdict HOLDS / HOLDS ONLY "
        "UNDER (conditions) / FAILS (counterexample). Exits 1 if a claim expected to hold fails.",
    )
    p.add_argument("--quick", action="store_true", help="fewer Monte Carlo trials")
    p.add_argument("--only", nargs="+", metavar="CLAIM", help="claim ids to run")
    p.add_argument("-v", "--verbose", action="store_true", help="print every number per claim")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the claims, print the table (and details with -v); 1 if an expected claim fails."""
    from rdptheory.proofs_check import format_details, format_table, run_all

    results = run_all(quick=args.quick, only=args.only, progress=None)
    print(format_table(results))
    if args.verbose or not all(r.ok for r in results):
        for r in results:
            if args.verbose or not r.ok:
                print()
                print(format_details(r))
    if args.json:
        import json
        from pathlib import Path

        from rdptheory.proofs_check._serialize import results_to_json

        Path(args.json).write_text(json.dumps(results_to_json(results), indent=2))
    failed = [r.claim_id for r in results if not r.ok]
    if failed:
        print(f"\n{len(failed)} claim(s) expected to hold did not: {', '.join(failed)}")
        return 1
    return 0
