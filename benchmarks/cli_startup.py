"""CLI start-up: how long ``aarshjul --help``, ``cycle show`` and ``remind plan`` take.

Prints figures, asserts nothing. Every figure is a whole process (interpreter start,
imports, configuration, database, output), timed several times; the median is shown
with its ratio to the bare baseline ``python -c "import typer"`` measured in the same
run. Set-up (not timed): a temporary folder with an SQLite database made by
``aarshjul init`` from the repository's ``config.toml`` and 25 members per council.

``--before PATH`` times the same commands against another source tree too (for
example ``git worktree add --detach /tmp/aarshjul-before HEAD`` before a change), each
tree with a database initialised by its own code, so one run shows before and after:

    python benchmarks/cli_startup.py [--repeat 9] [--before /tmp/aarshjul-before]
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MEMBERS = 25
#: Runs the console script's entry point, so ``PYTHONPATH`` picks the source tree.
ENTRY = "import sys; from bot.cli import main; sys.exit(main())"


def runs(argv: list[str], env: dict[str, str], cwd: Path, repeat: int) -> list[float]:
    """Wall times in seconds of ``argv`` as a whole process (after one warm-up run)."""
    times = []
    for i in range(repeat + 1):
        start = time.perf_counter()
        done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed:\n{done.stdout}\n{done.stderr}")
        if i:
            times.append(elapsed)
    return times


def timed(argv: list[str], env: dict[str, str], cwd: Path, repeat: int) -> float:
    """Median wall time in seconds of ``argv`` as a whole process."""
    return statistics.median(runs(argv, env, cwd, repeat))


def today() -> date:
    """The machine's own day: the CLI under test reads the system clock too."""
    return datetime.now().astimezone().date()


def councils(config: Path) -> list[str]:
    import tomllib

    return [c["key"] for c in tomllib.loads(config.read_text("utf-8"))["councils"]]


def prepare(tree: Path, folder: Path) -> dict[str, str]:
    """An initialised SQLite database with members, made by ``tree``'s own code."""
    folder.mkdir(parents=True, exist_ok=True)
    config = tree / "config.toml"
    env = {
        **os.environ,
        "PYTHONPATH": str(tree),
        "AARSHJUL_CONFIG": str(config),
        "DATABASE_URL": f"sqlite+aiosqlite:///{folder / 'aarshjul.db'}",
        "AARSHJUL__EMAIL__BACKEND": "file",
    }
    env.pop("SLACK_BOT_TOKEN", None)
    members = folder / "members.csv"
    with members.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["council", "name", "email", "organisation", "role"])
        for key in councils(config):
            for m in range(MEMBERS):
                role = "formand" if m == 0 else "medlem"
                writer.writerow([key, f"Medlem {m}", f"m{m}.{key}@example.dk", "DA", role])
    for args in (["init"], ["members", "import", str(members)]):
        done = subprocess.run(
            [sys.executable, "-c", ENTRY, *args], env=env, cwd=folder, capture_output=True
        )
        if done.returncode != 0:
            raise SystemExit(f"{args} failed in {tree}:\n{done.stderr.decode()}")
    return env


def measure(tree: Path, folder: Path, repeat: int) -> dict[str, float]:
    env = prepare(tree, folder)
    council = councils(tree / "config.toml")[5]
    until = (today() + timedelta(days=365)).isoformat()
    cli = [sys.executable, "-c", ENTRY]
    return {
        "--help": timed([*cli, "--help"], env, folder, repeat),
        "cycle show": timed([*cli, "cycle", "show", "--council", council], env, folder, repeat),
        "remind plan": timed([*cli, "remind", "plan", "--until", until], env, folder, repeat),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9, help="timed runs per command")
    parser.add_argument("--before", type=Path, help="another source tree to time as well")
    args = parser.parse_args()
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {today()}, median of {args.repeat}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        bare = [sys.executable, "-c", "import typer"]
        base_times = runs(bare, dict(os.environ), ROOT, args.repeat)
        after = measure(ROOT, Path(tmp) / "after", args.repeat)
        before = (
            measure(args.before.resolve(), Path(tmp) / "before", args.repeat)
            if args.before
            else None
        )
        # The baseline once more, after the rest (the machine's load moves it): the
        # median over both series.
        base_times += runs(bare, dict(os.environ), ROOT, args.repeat)
        baseline = statistics.median(base_times)
    print(f'baseline python -c "import typer": {baseline * 1000:.0f} ms')
    for name, seconds in after.items():
        line = f"aarshjul {name}: {seconds * 1000:.0f} ms = {seconds / baseline:.1f} × baseline"
        if before:
            then = before[name]
            line += f"; before {then * 1000:.0f} ms ({then / baseline:.1f} ×)"
            line += f": {seconds / then:.2f} × before"
        print(line)


if __name__ == "__main__":
    main()
