"""The admin login resists guessing (django-axes), against a real daphne: after 10
failures for one username, or from one client address, within the cool-off, the
login is refused even with the right password, and each lock-out is logged."""

import re

import httpx
import pytest

from devtools.localredis import LocalRedis

LOGIN = "/admin/login/?next=/admin/"
PASSWORD = "the-right-password-7"
# One user per test: a lock-out lasts the cool-off (15 minutes), and the module
# shares one daphne and database.
USERS = ("alice", "bob", "carol")


@pytest.fixture(scope="module")
def web(start_web):
    store = LocalRedis().start()
    server = start_web("lockout", store.url)
    for user in USERS:
        server.manage(
            "create_demo_superuser", DEMO_USERNAME=user, DEMO_PASSWORD=PASSWORD
        )
    yield server
    server.kill()
    store.stop()


def attempt(web, username: str, password: str, source: str = "127.0.0.1"):
    """One login through the form, as a browser does it (CSRF cookie and token)."""
    transport = httpx.HTTPTransport(local_address=source)
    with httpx.Client(base_url=web.url, transport=transport) as client:
        form = client.get(LOGIN).text
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)[1]
        return client.post(
            LOGIN,
            data={"username": username, "password": password,
                  "csrfmiddlewaretoken": token, "next": "/admin/"},
        )  # fmt: skip


def refused_as_wrong(response) -> bool:
    return response.status_code == 200 and "Please enter the correct" in response.text


def locked(response) -> bool:
    return response.status_code == 429 and "locked" in response.text.lower()


def test_the_11th_wrong_password_is_refused_and_then_the_right_one_too(web):
    first = [attempt(web, "alice", f"guess-{n}") for n in range(9)]
    assert all(refused_as_wrong(response) for response in first)
    # The 10th failure locks the username out: it and every attempt after it
    # get the lock-out answer, the right password included.
    assert locked(attempt(web, "alice", "guess-9"))
    assert locked(attempt(web, "alice", "guess-10"))
    assert locked(attempt(web, "alice", PASSWORD))
    # Logged with the username and the address, for the operator.
    log = web.log_path.read_text()
    assert re.search(r"AXES: Locking out .*alice.*127\.0\.0\.1", log)


def test_one_username_is_locked_from_every_address(web):
    # 10 failures spread over 10 client addresses still lock the username.
    for n in range(10):
        attempt(web, "bob", f"guess-{n}", source=f"127.0.0.{n + 10}")
    assert locked(attempt(web, "bob", PASSWORD, source="127.0.0.99"))


def test_one_address_is_locked_for_every_username(web):
    # 10 failures from one address with 10 usernames lock the address: even the
    # right login from there is refused, while another address may log in.
    for n in range(10):
        attempt(web, f"someone-{n}", "guess", source="127.0.0.7")
    assert locked(attempt(web, "carol", PASSWORD, source="127.0.0.7"))
    other = attempt(web, "carol", PASSWORD, source="127.0.0.8")
    assert other.status_code == 302 and other.headers["location"] == "/admin/"
