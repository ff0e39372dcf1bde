"""What a usable value of each store field is (options.fields): the one definition
the feed writes by and the read model shows by."""

import pytest

from options.fields import FIELDS, KINDS, row_check, valid

GOOD = {
    "bid": ["0", "1205", "1218.37", "0.000001", "1" * 16, "1" * 16 + "." + "5" * 15],
    "mark_iv": ["0", "0.4455", "9.99", "19.9999", "1.5"],
    "delta": ["-0.5", "0.50123456", "-88.41234567", "0"],
    "ts": ["1774500000000", "0"],
}
BAD = {
    "bid": ["NaN", "nan", "Infinity", "inf", "1e999", "1e5", "-5", "", " 1", "1 ",
            "+5", ".5", "5.", ".", "1.2.3", "0x10", "1_000", "١٢", "<b>1</b>",
            "=HYPERLINK(\"x\")", "9" * 7000, "1" * 17, "1." + "5" * 16, "\x1f",
            None, 5, 1.5, ["1"]],
    "mark_iv": ["20", "25", "-0.1", "100", "NaN"],
    "delta": ["--5", "-", "-.5", "5-", "abc", "=1+1"],
    "ts": ["1.5", "-1", "", "1" * 14, "soon"],
}  # fmt: skip


def test_every_store_field_has_a_kind():
    assert set(KINDS) == set(FIELDS)


@pytest.mark.parametrize("field", list(GOOD))
def test_valid_values_of_each_kind_pass_and_bad_ones_do_not(field):
    assert [v for v in GOOD[field] if not valid(field, v)] == []
    assert [v for v in BAD[field] if valid(field, v)] == []


def test_a_field_outside_the_schema_is_never_valid():
    assert not valid("html", "1")


def test_the_whole_row_check_agrees_with_the_value_by_value_one():
    fields = ("bid", "mark_iv", "delta", "ts")
    check = row_check(fields, "\x1f")
    base = {f: GOOD[f][1] for f in fields}
    assert check("\x1f".join(base.values()))
    for field in fields:
        for bad in BAD[field]:
            if isinstance(bad, str):
                row = {**base, field: bad}
                assert check("\x1f".join(row.values())) is None, (field, bad)
    with pytest.raises(KeyError):
        row_check(("bid", "html"), "\x1f")
