"""Where notifications go: apprise URLs from the environment, and how they are
written in logs (secrets redacted).

`NOTIFY_URLS` holds comma-separated apprise URLs (`json://host:port/`,
`slack://...`, `mailto://...`); `TELEGRAM_BOT_TOKEN` with `TELEGRAM_CHAT_ID` adds
the Telegram URL `tgram://TOKEN/CHAT_ID`.
"""

import os
import re
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl, urlsplit

# Schemes whose host is a network address, safe to log; any other scheme may carry
# a secret in the host (`tgram://BOT_TOKEN/...`), so only the scheme is shown.
ADDRESS_SCHEMES = {"json", "jsons", "xml", "xmls", "form", "forms", "http", "https"}
HIDDEN = "***"
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.I)


class DestinationError(ValueError):
    """The environment names destinations that cannot be used."""


def urls_from_env(environ: Mapping[str, str] | None = None) -> list[str]:
    """The apprise URLs the environment configures, in order, without duplicates."""
    env = os.environ if environ is None else environ
    urls = [u.strip() for u in env.get("NOTIFY_URLS", "").split(",") if u.strip()]
    for url in urls:
        if not _SCHEME.match(url):
            raise DestinationError(
                f"NOTIFY_URLS: {redact_url(url)!r} is not an apprise URL (scheme://...)"
            )
    token = env.get("TELEGRAM_BOT_TOKEN", "").strip()
    chat = env.get("TELEGRAM_CHAT_ID", "").strip()
    if bool(token) != bool(chat):
        missing = "TELEGRAM_CHAT_ID" if token else "TELEGRAM_BOT_TOKEN"
        raise DestinationError(f"Telegram alerts need {missing} as well")
    if token:
        urls.append(f"tgram://{token}/{chat}")
    return list(dict.fromkeys(urls))


def redact_url(url: str) -> str:
    """A URL as logs show it: the scheme, and the host of plain web hooks."""
    try:
        parts = urlsplit(url)
        host = parts.hostname if parts.scheme.lower() in ADDRESS_SCHEMES else None
        port = f":{parts.port}" if host and parts.port else ""
    except ValueError:
        return HIDDEN
    if not parts.scheme:
        return HIDDEN
    path = HIDDEN if parts.path.strip("/") else ""
    return f"{parts.scheme}://{host or HIDDEN}{port}/{path}"


def secrets_of(url: str) -> set[str]:
    """Every part of a URL that may be a secret: user, password, host (of schemes
    that carry tokens there), path segments and query values."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return {url}
    found = {url, parts.username or "", parts.password or ""}
    if parts.scheme.lower() not in ADDRESS_SCHEMES:
        found.add(parts.hostname or "")
        found.add(parts.netloc)
    found.update(parts.path.split("/"))
    found.update(value for _, value in parse_qsl(parts.query))
    return {s for s in found if len(s) >= 4}


def redact(text: str, urls: Iterable[str]) -> str:
    """The text with every secret of the URLs replaced by ***, longest first."""
    secrets = set().union(*(secrets_of(u) for u in urls))
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, HIDDEN)
    return text
