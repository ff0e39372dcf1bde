"""`make demo` and `make run`: every process of the tracker under one supervisor.

demo: the built-in exchange simulator on 127.0.0.1 stands in for Bybit; nothing leaves
the machine. live: the real Bybit endpoints from settings. Both use REDIS_URL when a
server answers there and otherwise start a private redis-server. Ctrl-C stops all.
"""

import os
import shlex
import sys

import redis
from honcho.manager import Manager
from honcho.printer import Printer

from devtools.localredis import LocalRedis
from devtools.processes import BASE_DIR, Daphne, ManagedCommand, free_port, port_open
from devtools.simulators import SimulatorProcess

VAR = BASE_DIR / "var"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except (redis.RedisError, OSError):
        return False


def ensure_redis(env: dict[str, str]) -> LocalRedis | None:
    url = env.get("REDIS_URL", DEFAULT_REDIS_URL)
    if redis_answers(url):
        env["REDIS_URL"] = url
        return None
    server = LocalRedis(port=None if port_open(6390) else 6390).start()
    env["REDIS_URL"] = server.url
    print(f"no Redis answered at {url}; started a private one at {server.url}")
    return server


def manage(*args: str) -> str:
    return shlex.join(ManagedCommand(*args).args)


def processes(mode: str, env: dict[str, str]) -> dict[str, str]:
    procs = {}
    if mode == "demo":
        port = int(env.get("SIMULATOR_PORT", free_port()))
        env.setdefault("BYBIT_REST_URL", f"http://127.0.0.1:{port}")
        env.setdefault("BYBIT_WS_URL", f"ws://127.0.0.1:{port}/v5/public/option")
        rate = env.get("SIMULATOR_RATE", "21000")  # the simulator's --rate checks it
        simulator = SimulatorProcess(port, contracts=2100, rate=rate)
        procs["simulator"] = shlex.join(simulator.args)
    # The universe is refreshed before the feed starts, so a restarted demo picks up
    # the simulator's (or the exchange's) current listing.
    procs["feed"] = f"{manage('refresh_symbols')} && exec {manage('run_feed')}"
    procs["web"] = shlex.join(Daphne(int(env["WEB_PORT"])).args)
    celery = [sys.executable, "-m", "celery", "-A", "tracker_project"]
    procs["worker"] = shlex.join(
        [*celery, "worker", "-l", "info", "--concurrency", "1"]
    )
    procs["beat"] = shlex.join([*celery, "beat", "-l", "info"])
    return procs


def main(mode: str) -> int:
    if mode not in ("demo", "live"):
        print("usage: python -m devtools.launch demo|live", file=sys.stderr)
        return 2
    VAR.mkdir(exist_ok=True)
    env = dict(os.environ)
    env.setdefault("DATABASE_URL", f"sqlite:///{VAR / (mode + '.sqlite3')}")
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.setdefault("HISTORY_ENABLED", "1")  # the full tracker: its 24 h history too
    private_redis = ensure_redis(env)
    try:
        os.environ.update(env)
        if os.system(manage("migrate", "--noinput", "-v", "0")) != 0:
            return 1
        if os.system(manage("collectstatic", "--noinput", "-v", "0")) != 0:
            return 1
        if mode == "demo":
            os.system(manage("create_demo_superuser"))
        env.setdefault("WEB_PORT", str(free_port()) if port_open(8000) else "8000")
        print_welcome(mode, env)
        manager = Manager(Printer(sys.stdout))
        for name, cmd in processes(mode, env).items():
            manager.add_process(name, cmd, env=env, cwd=str(BASE_DIR))
        manager.loop()
        return manager.returncode or 0
    finally:
        if private_redis:
            private_redis.stop()


def print_welcome(mode: str, env: dict[str, str]) -> None:
    url = env["REDIS_URL"]
    web = f"http://127.0.0.1:{env['WEB_PORT']}"
    print(
        f"\noptiontracker {mode}: Redis at {url}\n"
        f"  dashboard:                   {web}/\n"
        f"  API:                         {web}/api/  (docs: {web}/api/docs/)\n"
        f"  admin:                       {web}/admin/\n"
        "  latest state of a contract:  redis-cli -u "
        f"{url} hgetall ot:tick:bybit:<SYMBOL>\n"
        f"  feed status:                 redis-cli -u {url} hgetall ot:feed:bybit\n"
        "  Ctrl-C stops everything.\n"
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else ""))
