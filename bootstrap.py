"""Make ``.venv`` with reorg installed in it, from nothing but ``python3`` (standard library only).

    python3 bootstrap.py           # .venv with reorg (editable): then .venv/bin/reorg plan
    python3 bootstrap.py --test    # with the test extra (pytest, hypothesis, ruff, mypy)

A distro Python refuses ``pip install`` outside a virtualenv (PEP 668), and Debian and Ubuntu
ship ``python3 -m venv`` without pip unless the python3-venv package is installed. So: a
virtualenv with pip when ``ensurepip`` works; otherwise one without pip, filled by the system's
pip (``pip --python``, pip 22.3+) when there is one, else by pip's own single-file zipapp
(https://bootstrap.pypa.io/pip/pip.pyz). An existing ``.venv`` is reused. Nothing outside the
checkout is changed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import urllib.request
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
PIP_ZIPAPP = "https://bootstrap.pypa.io/pip/pip.pyz"
NO_ENSUREPIP = "REORG_BOOTSTRAP_NO_ENSUREPIP"  # tests: act as on a distro Python without python3-venv


def venv_python(env: Path) -> Path:
    return env / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def has_pip(python: Path | str) -> bool:
    return subprocess.run([str(python), "-m", "pip", "--version"], capture_output=True).returncode == 0


def create(env: Path) -> None:
    if venv_python(env).exists():
        return
    if not os.environ.get(NO_ENSUREPIP):
        try:
            import ensurepip  # noqa: F401  (Debian's stub raises when python3-venv is missing)

            venv.create(env, with_pip=True)
            return
        except Exception as exc:  # ensurepip missing or failing: go on without it
            print(f"bootstrap: no pip from ensurepip ({exc}); making .venv without it", file=sys.stderr)
            shutil.rmtree(env, ignore_errors=True)
    venv.create(env, with_pip=False)


def pip_command(env: Path) -> list[str]:
    """How to run a pip that installs into ``env``."""
    python = venv_python(env)
    if has_pip(python):
        return [str(python), "-m", "pip"]
    if has_pip(sys.executable):
        return [sys.executable, "-m", "pip", "--python", str(python)]
    zipapp = env / "pip.pyz"
    if not zipapp.exists():
        print(f"bootstrap: fetching pip from {PIP_ZIPAPP}", file=sys.stderr)
        urllib.request.urlretrieve(PIP_ZIPAPP, zipapp)
    return [str(python), str(zipapp)]


def main() -> int:
    parser = argparse.ArgumentParser(description="Make .venv with reorg installed (editable).")
    parser.add_argument("--test", action="store_true", help="also the test extra")
    parser.add_argument("--venv", type=Path, default=ROOT / ".venv", help="where (default: .venv here)")
    args = parser.parse_args()
    if sys.version_info < (3, 11):  # noqa: UP036  (bootstrap runs on whatever python3 is: say so)
        print(f"error: reorg needs Python 3.11 or newer; this is {sys.version.split()[0]}", file=sys.stderr)
        return 2
    create(args.venv)
    target = f"{ROOT}[test]" if args.test else str(ROOT)
    done = subprocess.run([*pip_command(args.venv), "install", "--quiet", "-e", target])
    if done.returncode != 0:
        print("error: pip could not install reorg into .venv (see above)", file=sys.stderr)
        return 1
    print(f"bootstrap: reorg is installed in {args.venv}: run {args.venv.name}/bin/reorg", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
