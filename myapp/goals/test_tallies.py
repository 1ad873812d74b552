"""Adding an upload to a tally: the bulk shortcut equals walking item by item."""

from hypothesis import given, settings
from hypothesis import strategies as st

from myapp.goals import tallies
from myapp.goals.rows import Target
from myapp.goals.upkeep import _added

NUMBER = st.one_of(st.none(), st.integers(-4, 6), st.sampled_from([0.5, -1.5]))
ITEMS = st.lists(st.tuples(st.integers(0, 5), NUMBER), max_size=12)
TARGETS = st.builds(
    lambda aggregate, op, value: Target(
        1, "s", "f", aggregate, op, value, None, 0, 0, True
    ),
    st.sampled_from(["sum", "count", "min", "max", "avg", "last"]),
    st.sampled_from([">=", "<="]),
    st.sampled_from([-2, -0.5, 0, 1, 2.5, 4, 9]),
)


def walked(target, tally, items):
    """The plain rule: add items one by one, stop noting at the first met."""
    met_by = None
    for recorded_at, reading_id, number, position in items:
        tally = tallies.added(tally, recorded_at, reading_id, number)
        value = tallies.aggregate_of(target.aggregate, tally)
        if met_by is None and tallies.is_met(target.op, target.value, value):
            met_by = (recorded_at, position)
    return tally, met_by


@settings(max_examples=2000, deadline=None)
@given(target=TARGETS, before=ITEMS, upload=ITEMS)
def test_adding_an_upload_equals_walking_it_item_by_item(target, before, upload):
    def items(pairs, first_id):
        return [
            (at, first_id + n, None if x is None else float(x), n)
            for n, (at, x) in enumerate(pairs)
        ]

    tally = tallies.merged(tallies.EMPTY, items(before, 0))
    added = _added(target, tally, items(upload, 100))
    expected = walked(target, tally, items(upload, 100))
    assert added[1] == expected[1]
    assert added[0][:2] == expected[0][:2] and added[0][3:] == expected[0][3:]
    assert abs(added[0][2] - expected[0][2]) < 1e-9
