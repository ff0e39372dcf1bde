"""The compose files, read as the single truth of each deployment and started as
native processes: `bench/measure_memory.py` measures exactly what users deploy, and
`tests/test_compose.py` checks the files.

Interpolation follows compose: `${NAME}`, `${NAME:-default}`, `${NAME-default}`,
`${NAME:?error}`, and `$$` for a literal `$`.
"""

import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from devtools.processes import BASE_DIR, BIN, ManagedProcess, free_port, wait_for_port

PROFILES = {
    "full": "docker-compose.yml",
    "minimal": "docker-compose.minimal.yml",
    "ultra-minimal": "docker-compose.ultra.yml",
}
_VARIABLE = re.compile(
    r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}|\$\$"
)


@dataclass
class Service:
    name: str
    command: list[str]
    environment: dict[str, str] = field(default_factory=dict)
    restart: str = "no"
    profiles: list[str] = field(default_factory=list)
    healthcheck: dict | None = None

    @property
    def one_off(self) -> bool:
        """A set-up step (migrations) that runs to its end, not a server."""
        return self.restart == "no"

    @property
    def is_redis(self) -> bool:
        return self.command[:1] == ["redis-server"]


def path(profile: str) -> Path:
    return BASE_DIR / PROFILES[profile]


def variables(text: str) -> set[str]:
    """Every variable a compose file interpolates."""
    return {m["name"] for m in _VARIABLE.finditer(text) if m["name"]}


def interpolate(text: str, env: dict[str, str]) -> str:
    def value(match: re.Match) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        if name is None:
            return "$"
        got = env.get(name)
        if op in (":-", ":?") and not got or op in ("-", "?") and got is None:
            if op.endswith("?"):
                raise ValueError(f"{name}: {arg or 'required'}")
            return arg
        return got or ""

    return _VARIABLE.sub(value, text)


def load(profile: str, env: dict[str, str]) -> dict[str, Service]:
    """The services of a deployment, interpolated with `env`, in file order."""
    spec = yaml.safe_load(interpolate(path(profile).read_text(), env))
    services = {}
    for name, svc in spec["services"].items():
        if "command" not in svc:
            continue  # an image's own server (PostgreSQL)
        command = svc["command"]
        services[name] = Service(
            name=name,
            command=shlex.split(command) if isinstance(command, str) else command,
            environment={
                k: "" if v is None else str(v)
                for k, v in (svc.get("environment") or {}).items()
            },
            restart=str(svc.get("restart", "no")),
            profiles=list(svc.get("profiles", [])),
            healthcheck=svc.get("healthcheck"),
        )
    return services


class NativeDeployment:
    """A deployment's services as processes on 127.0.0.1, each command as the file
    spells it, with the virtualenv first on PATH: Redis on a free port (its
    configuration from the file, its port, address and directory from here), the
    one-off steps run to their end, then every server.

    `env` stands for the .env file (and points the exchange at a simulator);
    REDIS_URL, DATABASE_URL and the web's port are this machine's."""

    def __init__(self, profile: str, workdir: Path, env: dict[str, str]):
        self.profile, self.workdir = profile, Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.services = load(profile, env)
        self.redis_port, self.web_port = free_port(), free_port()
        self.env = {
            **env,
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "DATABASE_URL": f"sqlite:///{self.workdir / 'tracker.sqlite3'}",
            "UVICORN_HOST": "127.0.0.1",
            "UVICORN_PORT": str(self.web_port),
        }
        self.processes: dict[str, ManagedProcess] = {}

    @property
    def redis_url(self) -> str:
        return self.env["REDIS_URL"]

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def start(self, only: set[str] | None = None) -> "NativeDeployment":
        """Every service, or `only` these (in file order)."""
        try:
            for service in self.services.values():
                if only is None or service.name in only:
                    self._start(service)
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self, service: Service) -> None:
        log = self.workdir / f"{service.name}.log"
        argv = list(service.command)
        if service.is_redis:
            argv += ["--port", str(self.redis_port), "--bind", "127.0.0.1",
                     "--dir", str(self.workdir), "--daemonize", "no"]  # fmt: skip
        env = {**service.environment, **self.env}
        process = ManagedProcess(*argv, env=env, log_path=log)
        if service.one_off:
            process.run()
            return
        self.processes[service.name] = process.start()
        if service.is_redis:
            wait_for_port(self.redis_port, 10, process.proc)
        if "UVICORN_PORT" in service.environment:
            wait_for_port(self.web_port, 60, process.proc)

    def stop(self) -> None:
        """Servers first, Redis last (the feed's final flush needs it)."""
        for process in reversed(list(self.processes.values())):
            process.stop()
