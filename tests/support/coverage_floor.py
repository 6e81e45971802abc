"""Print each module's line coverage from the last `pytest --cov` run and fail when one is under the floor:
`python -m tests.support.coverage_floor --floor 50 actors configs ocr_models` (`make test-fast`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import coverage

REPO = Path(__file__).resolve().parents[2]


def module_coverage(packages: list[str]) -> dict[str, float]:
    """Percent of statements run, for every module of `packages` (0 for a module no test imported)."""
    data = coverage.Coverage(data_file=str(REPO / ".coverage"))
    data.load()
    measured = {Path(name).resolve() for name in data.get_data().measured_files()}
    percents = {}
    for package in packages:
        for path in sorted((REPO / package).rglob("*.py")):
            name = str(path.relative_to(REPO))
            if path.resolve() not in measured:
                percents[name] = 0.0
                continue
            _, statements, _, missing, _ = data.analysis2(str(path))
            percents[name] = 100.0 * (len(statements) - len(missing)) / len(statements) if statements else 100.0
    return percents


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--floor", type=float, default=50.0, help="lowest line coverage a module may have (%%)")
    parser.add_argument("packages", nargs="+")
    args = parser.parse_args()
    percents = module_coverage(args.packages)
    low = {name: p for name, p in percents.items() if p < args.floor}
    for name, percent in percents.items():
        print(f"{percent:5.1f} %  {name}{'  <- under the floor' if name in low else ''}")
    total = sum(percents.values()) / len(percents)
    print(f"{len(percents)} modules, mean {total:.1f} %, {len(low)} under {args.floor:g} %")
    return 1 if low else 0


if __name__ == "__main__":
    sys.exit(main())
