"""The chain book (dashboard.fanout): what the sockets of one chain share."""

from dashboard import fanout


def event(at: int, **marks: str) -> dict:
    """A feed event (options.live) with one full row per symbol."""
    rows = {s: {"mark": m, "ts": str(at), "gamma": "0.1"} for s, m in marks.items()}
    return {"type": "chain.update", "at": at, "rows": rows}


def test_an_event_is_applied_once_however_many_sockets_hand_it_over():
    book = fanout.ChainBook()
    first = event(100, A="1")
    assert book.apply(first)
    assert not book.apply(first)
    assert not book.apply(event(100, A="1"))  # the same flush, decoded again
    assert book.version == 1
    # Rows are narrowed to the page's fields once, here.
    assert book.rows_since(0) == {"A": {"mark": "1", "ts": "100"}}


def test_a_page_gets_the_latest_row_of_each_contract_changed_since_its_version():
    book = fanout.ChainBook()
    book.apply(event(100, A="1", B="1"))
    book.apply(event(200, A="2"))
    book.apply(event(300, C="3"))
    assert book.rows_since(3) == {}
    assert book.rows_since(2) == {"C": {"mark": "3", "ts": "300"}}
    merged = book.rows_since(1)
    assert {s: r["mark"] for s, r in merged.items()} == {"A": "2", "C": "3"}
    assert {s: r["mark"] for s, r in book.rows_since(0).items()} == {
        "A": "2",
        "B": "1",
        "C": "3",
    }
    # Sockets at the same version share one dict (and so one JSON text).
    assert book.rows_since(1) is merged


def test_a_page_behind_the_kept_events_gets_the_rows_from_the_latest_state():
    book = fanout.ChainBook()
    book.apply(event(100, A="1", B="1"))
    for n in range(fanout.EVENTS_KEPT + 5):
        book.apply(event(200 + n, A=str(n)))
    rows = book.rows_since(0)
    assert {s: r["mark"] for s, r in rows.items()} == {
        "A": str(fanout.EVENTS_KEPT + 4),
        "B": "1",
    }
    assert len(book.events) == fanout.EVENTS_KEPT  # memory bounded by the chain


def test_symbols_seen_for_the_first_time_are_told_to_the_sockets_behind():
    book = fanout.ChainBook()
    book.apply(event(100, A="1"))
    seen = book.index_version
    book.apply(event(200, A="2"))  # nothing new
    assert book.index_version == seen
    book.apply(event(300, B="1"))
    assert book.learned_since(seen) == {"B"}
    assert book.learned_since(book.index_version) == set()
    assert book.learned_since(0) == {"A", "B"}


async def test_the_sockets_of_a_chain_share_one_book_while_one_remains():
    book = fanout.join("chain.bybit.BTC.2026-03-27")
    assert fanout.join("chain.bybit.BTC.2026-03-27") is book
    assert fanout.join("chain.bybit.BTC.2026-03-28") is not book
    fanout.leave("chain.bybit.BTC.2026-03-27")
    assert fanout.join("chain.bybit.BTC.2026-03-27") is book
    fanout.leave("chain.bybit.BTC.2026-03-27")
    fanout.leave("chain.bybit.BTC.2026-03-27")
    assert fanout.join("chain.bybit.BTC.2026-03-27") is not book
