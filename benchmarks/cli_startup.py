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
import resource
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


def once(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Wall time and CPU time (user + system) in seconds of ``argv`` as a whole process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{done.stdout}\n{done.stderr}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu


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


def commands(tree: Path, folder: Path) -> dict[str, tuple[list[str], dict[str, str], Path]]:
    """What is timed for one tree: each command with its environment and folder."""
    env = prepare(tree, folder)
    council = councils(tree / "config.toml")[5]
    until = (today() + timedelta(days=365)).isoformat()
    cli = [sys.executable, "-c", ENTRY]
    return {
        "--help": ([*cli, "--help"], env, folder),
        "cycle show": ([*cli, "cycle", "show", "--council", council], env, folder),
        "remind plan": ([*cli, "remind", "plan", "--until", until], env, folder),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9, help="timed runs per command")
    parser.add_argument("--before", type=Path, help="another source tree to time as well")
    args = parser.parse_args()
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {today()}, median of {args.repeat} "
        "(wall time; CPU time user+system in brackets)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        jobs = {"baseline": ([sys.executable, "-c", "import typer"], dict(os.environ), ROOT)}
        for name, job in commands(ROOT, Path(tmp) / "after").items():
            jobs[name] = job
        if args.before:
            for name, job in commands(args.before.resolve(), Path(tmp) / "before").items():
                jobs[f"before {name}"] = job
        # Rounds run every job once, in turn, so a change in the machine's load (other
        # processes) falls on all of them alike; the first round only warms caches.
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in jobs}
        for round_ in range(args.repeat + 1):
            for name, (argv, env, cwd) in jobs.items():
                measured = once(argv, env, cwd)
                if round_:
                    times[name].append(measured)
    wall = {n: statistics.median(w for w, _ in ts) for n, ts in times.items()}
    cpu = {n: statistics.median(c for _, c in ts) for n, ts in times.items()}

    def figure(name: str) -> str:
        return f"{wall[name] * 1000:.0f} ms ({cpu[name] * 1000:.0f} ms CPU)"

    print(f'baseline python -c "import typer": {figure("baseline")}')
    for name in ("--help", "cycle show", "remind plan"):
        line = f"aarshjul {name}: {figure(name)} = {wall[name] / wall['baseline']:.1f} × baseline"
        if args.before:
            then = f"before {name}"
            line += f"; before {figure(then)} = {wall[then] / wall['baseline']:.1f} ×"
            line += f"; now/before {wall[name] / wall[then]:.2f} (CPU {cpu[name] / cpu[then]:.2f})"
        print(line)


if __name__ == "__main__":
    main()
