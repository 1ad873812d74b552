"""Digits in client text are ASCII 0-9: "³", "①" or "١" pass str.isdigit().

Found by a fuzzer: an unknown member named "³" was a 500 before auth, because
the validation errors were sorted by int() of every part that isdigit() took.
"""

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from myapp.users.schemas import LOGIN
from testing.readings import READINGS, reading

LOGIN_PATH = "/api/v1/auth/login"
# isdigit() is true for each, int() refuses the first four and reads the rest.
NOT_ASCII_DIGITS = ["³", "²", "①", "⑩", "١٢", "１０", "߁"]


@pytest.mark.parametrize("name", NOT_ASCII_DIGITS)
def test_a_member_named_with_other_digits_is_a_400_at_its_pointer(client, name):
    body = {"username": "x", "password": "y", name: 1, "2": 2}
    response = client.post(LOGIN_PATH, json=body)
    assert response.status_code == 400, response.json
    pointers = [error["pointer"] for error in response.json["errors"]]
    assert pointers == ["/2", "/" + name]


@given(members=st.dictionaries(st.text(max_size=4), st.integers(), max_size=6))
@example(members={"³": 1, "10": 2, "9": 3, "①": 4})
def test_validation_errors_of_any_member_names_sort_without_failing(members):
    found = LOGIN.errors(members)
    assert found, "username and password are required"
    extras = {error["pointer"][1:] for error in found if "allowed" in error["message"]}
    assert extras == {name.replace("~", "~0").replace("/", "~1") for name in members}


@pytest.mark.parametrize("limit", ["１０", "١٠", "1_0", " 10", "³"])
def test_a_query_integer_in_other_digits_is_a_400(alice, limit):
    response = alice.get(f"/api/v1/readings/?limit={limit}")
    assert response.status_code == 400
    assert response.json["errors"] == [
        {"query": "limit", "message": "must be an integer"}
    ]


@pytest.mark.parametrize("zero", ["\u0660", "\uff10"])  # Arabic-Indic, fullwidth
def test_a_path_id_in_other_digits_is_not_found(alice, zero):
    made = alice.post(READINGS, json=reading()).json["id"]
    other = "".join(chr(ord(zero) + int(digit)) for digit in str(made))
    assert alice.get(f"{READINGS}{made}").status_code == 200
    assert alice.get(f"{READINGS}{other}").status_code == 404
