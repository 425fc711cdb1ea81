"""Shared plumbing for the process-level benchmarks: a database, gunicorn, the worker, RSS.

Every process runs as in production (gunicorn "bot:create_app()", `python -m bot.worker`) with its
output in a file: a pipe nobody reads fills up and blocks the process's logging.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import requests
import yaml
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]
SECRET = "bench-channel-secret"
TOKEN = "bench-access-token"
ORG_FILE = ROOT / "tests" / "data" / "org.example.yaml"
# A mix of what staff type: the menu, help, and SOP questions (the knowledge search is the costly part).
TEXTS = ("เมนู", "กรรมการไอทีของกองต้องประชุมปีละกี่ครั้งคะ", "วิธีใช้", "server รพ.เรามีกี่เครื่องคะ")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bench_env(database_url: str, line_base_url: str) -> dict[str, str]:
    """The environment of every process: production settings except the secrets and LINE's address."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LINE_", "FLASK_", "WORKER_", "HELPDESK_"))}
    env.update(DATABASE_URL=database_url, LINE_API_BASE_URL=line_base_url, LINE_CHANNEL_SECRET=SECRET,
               LINE_CHANNEL_ACCESS_TOKEN=TOKEN, SECRET_KEY="bench", PYTHONPATH=str(ROOT))
    return env


def reset_postgres_schema(database_url: str) -> None:
    """A PostgreSQL URL may name a schema in its search_path option: start that schema empty."""
    url = make_url(database_url)
    options = url.query.get("options", "")
    schema = options.split("search_path=", 1)[1].split()[0] if "search_path=" in options else ""
    if url.get_backend_name() != "postgresql" or not schema or not schema.isidentifier():
        return
    engine = create_engine(url.set(query={}))
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()


def create_schema(database_url: str) -> None:
    """Every table of every module under models/ (create_all, not the migrations): the bench measures
    the code as it is, even while a migration for a new column is still being written."""
    import models
    from models.base import Base

    for module in pkgutil.iter_modules(models.__path__):
        if module.name != "migrations":
            importlib.import_module(f"models.{module.name}")
    engine = create_engine(database_url)
    Base.metadata.create_all(engine)
    engine.dispose()


def prepare_database(env: dict[str, str]) -> None:
    """An empty schema, then the example organisation through the CLI, as an operator would load it."""
    reset_postgres_schema(env["DATABASE_URL"])
    create_schema(env["DATABASE_URL"])
    subprocess.run([sys.executable, "-m", "flask", "--app", "bot", "org", "import", str(ORG_FILE)], cwd=ROOT,
                   env=env, check=True, stdout=subprocess.DEVNULL)


def registered_users() -> list[str]:
    """LINE user ids of the staff the organisation file binds already."""
    data = yaml.safe_load(ORG_FILE.read_text(encoding="utf-8"))
    return [person["line_user_id"] for person in data["staff"] if person.get("line_user_id")]


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("w") as out:
        return subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def start_web(env: dict[str, str], workers: int, log: Path) -> tuple[subprocess.Popen, str]:
    """gunicorn as the Procfile runs it; returns the master process and the base URL once /healthz answers."""
    port = free_port()
    proc = _spawn([sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
                   "--timeout", "30", "--log-level", "warning", "bot:create_app()"], env, log)
    base = f"http://127.0.0.1:{port}"
    wait_for(lambda: _answers(base + "/healthz") or proc.poll() is not None, 60)
    if proc.poll() is not None:
        raise RuntimeError(f"gunicorn did not start, see {log}")
    return proc, base


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    """`python -m bot.worker`, returned once it logged that its scheduler runs."""
    proc = _spawn([sys.executable, "-m", "bot.worker"], env, log)
    wait_for(lambda: "worker started" in log.read_text(errors="replace") or proc.poll() is not None, 120)
    if proc.poll() is not None:
        raise RuntimeError(f"the worker stopped at start-up, see {log}")
    return proc


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def children(pid: int) -> list[int]:
    """Direct children of a process (gunicorn's workers under its master)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def rss_mib(pid: int) -> float:
    """Resident set size from /proc/PID/status (VmRSS, kB)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def wait_for(condition: Callable[[], bool], seconds: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(step)
    return True


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])
