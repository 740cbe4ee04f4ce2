"""What the benchmark scripts share: the machine line, and running a ``flask`` command in
its own process with its wall time and peak memory."""

import os
import platform
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLASK = [str(ROOT / ".venv" / "bin" / "flask"), "--app", "ruilkring"]


def machine_line() -> str:
    return (f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
            f"Python {platform.python_version()}, {platform.system()} {platform.release()}; "
            f"load average {os.getloadavg()[0]:.1f}")


def flask_env(url: str, workdir: str) -> dict:
    """The environment of a ``flask`` command on database ``url``, mail to ``workdir``."""
    return {**os.environ, "RUILKRING_ENV": "development", "RUILKRING_SECRET_KEY": "benchmark",
            "RUILKRING_DATABASE_URL": url, "RUILKRING_OUTBOX_DIR": str(Path(workdir) / "outbox")}


def run_flask(args: list[str], env: dict) -> tuple[float, float, str]:
    """Run one ``flask`` command; (wall seconds, the command's peak memory in MB, output)."""
    started = time.perf_counter()
    process = subprocess.Popen(FLASK + args, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    output = process.stdout.read()
    _pid, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    returncode = os.waitstatus_to_exitcode(status)
    if returncode:
        raise SystemExit(f"flask {' '.join(args)} failed ({returncode}):\n{output}")
    return seconds, usage.ru_maxrss / 1024, output.strip()
