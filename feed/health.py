"""`python -m feed.health`: exit 0 when the feed's heartbeat in Redis is fresh.

The compose files' health check of the feed service. The feed writes its status
hash every second (options.keys.feed); a heartbeat older than `--max-age` seconds, or
none, means the process is stuck or gone. `waiting` (no universe yet) is healthy:
the feed is alive and the refresh is what to look at.

    python -m feed.health [--exchange bybit] [--shard NAME] [--max-age 10]
        [--redis-url URL]
"""

import argparse
import sys
import time

from redis.exceptions import RedisError

from feed.config import setting
from options import store


def check(client, exchange: str, max_age_s: float, shard: str = "") -> str:
    """'' when healthy, else what is wrong."""
    key = store.status_key(exchange, shard)
    state, heartbeat = client.hmget(key, "state", "heartbeat_ts")
    if heartbeat is None:
        return f"no status for {exchange} in Redis"
    age = time.time() - int(heartbeat) / 1000
    if age > max_age_s:
        return f"heartbeat {age:.0f} s old (state {state})"
    return ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m feed.health")
    parser.add_argument("--exchange", default="bybit")
    parser.add_argument("--max-age", type=float, default=10.0)
    parser.add_argument("--shard", default="", help="the feed's --shard, if any")
    parser.add_argument("--redis-url", default=setting("REDIS_URL"))
    args = parser.parse_args(argv)
    from options.clients import sync_client

    client = sync_client(args.redis_url)
    try:
        problem = check(client, args.exchange, args.max_age, args.shard)
    except (RedisError, OSError) as exc:
        problem = f"Redis: {exc}"
    finally:
        client.close()
    print(problem or "ok")
    return 1 if problem else 0


if __name__ == "__main__":
    sys.exit(main())
