"""The compose files are the single truth of each deployment: they parse, every
command exists and runs as it is from the project root, every variable is documented
in .env.example, the smallest deployment streams when started from its file, and the
full one's worker runs its tasks and beat in one process."""

import importlib.util
import re
import shutil

import psutil
import pytest

from devtools import compose
from devtools.processes import BASE_DIR, BIN, wait_for
from options import store

ENV = {"DJANGO_SECRET_KEY": "test"}
DOCUMENTED = re.compile(r"^(?:# )?([A-Z][A-Z0-9_]*)=", re.M)


def documented() -> set[str]:
    return set(DOCUMENTED.findall((BASE_DIR / ".env.example").read_text()))


def all_services():
    for profile in compose.PROFILES:
        for service in compose.load(profile, ENV).values():
            yield profile, service


def module_exists(name: str) -> bool:
    return importlib.util.find_spec(name.split(":")[0]) is not None


def check_command(argv: list[str]) -> None:
    """The executable is on the virtualenv's PATH and what it is asked to run exists."""
    program, *args = argv
    assert (BIN / program).exists() or shutil.which(program), program
    if program == "python" and args[0] == "-m":
        assert module_exists(args[1]), args[1]
    elif program == "python" and args[0] == "-c":
        compile(args[1], "<healthcheck>", "exec")
    elif program == "python":
        assert args[0] == "manage.py"
        from django.core.management import get_commands

        assert args[1] in get_commands(), args[1]
    elif program == "celery":
        assert module_exists(args[args.index("-A") + 1])
    elif program == "uvicorn":
        assert module_exists(args[0])


def test_the_three_deployments_parse_with_the_services_they_promise():
    names = {p: set(compose.load(p, ENV)) for p in compose.PROFILES}
    assert names["full"] == {"redis", "migrate", "feed", "web", "worker"}
    assert names["minimal"] == names["ultra-minimal"] == {"redis", "feed"}


@pytest.mark.parametrize(
    "profile,service", list(all_services()), ids=lambda v: getattr(v, "name", v)
)
def test_every_command_exists_and_every_server_restarts_and_is_checked(
    profile, service
):
    check_command(service.command)
    if service.one_off:
        assert service.name == "migrate"
        return
    assert service.restart == "unless-stopped"
    test = service.healthcheck["test"]
    assert test[0] in ("CMD", "CMD-SHELL")
    check_command(test[1:] if test[0] == "CMD" else test[1].split())


@pytest.mark.parametrize("profile", list(compose.PROFILES))
def test_redis_carries_its_whole_configuration(profile):
    options: dict[str, str] = {}
    for word in compose.load(profile, ENV)["redis"].command[1:]:
        if word.startswith("--"):
            option, options[word] = word, ""
        else:
            options[option] = f"{options[option]} {word}".strip()
    assert options["--maxmemory-policy"] == "noeviction"
    assert options["--maxmemory"].endswith("mb") and options["--save"]
    assert options["--appendonly"] == "no"


@pytest.mark.parametrize("profile", list(compose.PROFILES))
def test_every_variable_is_documented_in_env_example(profile):
    text = compose.path(profile).read_text()
    used = compose.variables(text)
    for service in compose.load(profile, ENV).values():
        used |= set(service.environment)
    assert used - documented() == set()


def test_the_full_deployment_needs_a_secret_key():
    with pytest.raises(ValueError, match="DJANGO_SECRET_KEY"):
        compose.load("full", {})


def test_interpolation_follows_compose():
    env = {"SET": "x", "EMPTY": ""}
    assert compose.interpolate("${SET:-d} ${EMPTY:-d} ${EMPTY-d} ${NONE-d}", env) == (
        "x d  d"
    )
    assert compose.interpolate("$${HOSTNAME} ${SET}", env) == "${HOSTNAME} x"


def test_the_ultra_minimal_file_streams_as_it_is(tmp_path, make_simulator):
    sim = make_simulator(contracts=200, rate=2000)
    env = {"BYBIT_REST_URL": sim.rest_url, "BYBIT_WS_URL": sim.ws_url}
    deployment = compose.NativeDeployment("ultra-minimal", tmp_path, env).start()
    try:
        import redis

        client = redis.Redis.from_url(deployment.redis_url, decode_responses=True)
        status = lambda: client.hgetall("ot:feed:bybit")  # noqa: E731
        wait_for(lambda: int(status().get("msgs_total", 0)) > 0, 30, "streaming")
        assert status()["subscribed"] == "200"
        # The refresh records its outcome after the universe; the status shows it
        # within a second.
        wait_for(lambda: status().get("refresh_state") == "ok", 5, "recorded")
        assert set(client.hgetall(client.keys("ot:tick:*")[0])) == {
            "bid", "ask", "mark", "mark_iv", "ts",
        }  # fmt: skip
        client.close()
    finally:
        deployment.stop()


def test_the_full_files_worker_refreshes_and_runs_beat_in_one_process(
    tmp_path, make_simulator
):
    sim = make_simulator(contracts=100, rate=100)
    env = {**ENV, "BYBIT_REST_URL": sim.rest_url, "BYBIT_WS_URL": sim.ws_url}
    deployment = compose.NativeDeployment("full", tmp_path, env)
    deployment.start(only={"redis", "migrate", "worker"})
    try:
        import redis

        client = redis.Redis.from_url(deployment.redis_url, decode_responses=True)
        # The worker refreshes the universe as soon as it is ready...
        refresh = lambda: store.read_refresh(client, "bybit")  # noqa: E731
        wait_for(lambda: refresh().get("state") == "ok", 60, "refreshed")
        # ... and beat, in a thread of the same process, sends the alert rules' sync
        # every 5 s, which the worker runs.
        log = tmp_path / "worker.log"
        ran = re.compile(r"alerts\.sync\[[^]]+\] succeeded")
        wait_for(lambda: ran.search(log.read_text()), 30, log.read_text)
        worker = psutil.Process(deployment.processes["worker"].pid)
        assert worker.children() == []  # no pool child, no beat process
        client.close()
    finally:
        deployment.stop()
