"""deploy/envfile.py reads the env file as systemd's EnvironmentFile= does.

The expected values follow systemd.exec(5) and its parser (src/basic/env-file.c):
a value a shell would expand, split or unquote must reach migrations, the canary
and the service identically.
"""

import json
import os
import subprocess
import sys

import pytest

from deploy import envfile

ENVFILE = envfile.__file__

CASES = [
    # `&`, `$`, `?` and an inline `#` are literal; trailing whitespace goes.
    (
        "URL=postgresql://app:p&ss$1@db/app?sslmode=require&x=1 # no comment \n",
        {"URL": "postgresql://app:p&ss$1@db/app?sslmode=require&x=1 # no comment"},
    ),
    ("A=  inner  spaces   kept  \t\n", {"A": "inner  spaces   kept"}),
    # Quotes after the first character are part of the value.
    ('A=it\'s "quoted"\n', {"A": 'it\'s "quoted"'}),
    ("A='$HOME & \"x\" \\n # y'\n", {"A": '$HOME & "x" \\n # y'}),
    ('A="a \\"b\\" \\$c \\\\ \\d `e`"\n', {"A": 'a "b" $c \\ \\d `e`'}),
    ("A=\"two\nlines\"\nB='and\nmore'\n", {"A": "two\nlines", "B": "and\nmore"}),
    # Quoted parts join what follows; a quote inside an unquoted part is literal.
    ("A=\"x\" 'y'z w\n", {"A": "xyz w"}),
    ("A=\"x\"y'z'\n", {"A": "xy'z'"}),
    ("A=one\\\ntwo\n", {"A": "onetwo"}),
    ("A=a\\ b\\\\c\\$d\nB=x\\ \n", {"A": "a b\\c$d", "B": "x "}),
    ('A="joined \\\nline"\n', {"A": "joined line"}),
    ("# comment\n; also\n   # indented\nA=1\n", {"A": "1"}),
    ("# a comment ending in \\\nA=1\n", {"A": "1"}),
    ("  A  =  b  \n", {"A": "b"}),
    ("A=\nB=''\nC=\"\"\n", {"A": "", "B": "", "C": ""}),
    ("A=1\nA=2\n", {"A": "2"}),
    ("A=1\r\nB=2\r\n", {"A": "1", "B": "2"}),
    ("A=no final newline", {"A": "no final newline"}),
    ("just words\nA=1\n", {"A": "1"}),
    # Names systemd drops: a shell's `export`, a leading digit, a dash.
    ("export A=1\n1A=2\nA-B=3\n_ok=4\n", {"_ok": "4"}),
    ("A='never closed\nB=2\n", {"A": "never closed\nB=2\n"}),
]


@pytest.mark.parametrize("text, expected", CASES)
def test_values_are_what_systemd_makes_of_them(text, expected):
    assert envfile.parse(text) == expected


def test_a_file_that_is_not_utf8_is_refused_like_systemd_does(tmp_path):
    path = tmp_path / "bad.env"
    path.write_bytes(b"A=caf\xe9\n")
    with pytest.raises(ValueError, match="UTF-8"):
        envfile.read(str(path))


def test_a_nul_byte_is_refused():
    with pytest.raises(ValueError, match="NUL"):
        envfile.parse("A=1\0B=2\n")


def run_with(tmp_path, file_text, unit=(), after=(), extra_env=None):
    """The environment a child sees when started through envfile.py."""
    path = tmp_path / "app.env"
    path.write_text(file_text)
    dump = "import json, os; print(json.dumps(dict(os.environ)))"
    units = [arg for assignment in unit for arg in ("--unit", assignment)]
    command = [sys.executable, ENVFILE, *units, str(path), *after]
    command += [sys.executable, "-c", dump]
    env = dict(os.environ, **(extra_env or {}))
    run = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    return json.loads(run.stdout)


def test_the_command_gets_the_files_values_exactly_and_nothing_from_the_caller(
    tmp_path,
):
    nasty = "sqlite:////var/lib/my app/$db & 'q' #1.sqlite"
    env = run_with(
        tmp_path,
        f"DATABASE_URL={nasty}\nSECRET_KEY=\"s3cr3t $HOME & 'x' # y\"\n",
        extra_env={"LEAKED": "1", "MYAPP_CONFIG": "development"},
    )
    assert env["DATABASE_URL"] == nasty
    assert env["SECRET_KEY"] == "s3cr3t $HOME & 'x' # y"
    assert env["PATH"] == os.environ["PATH"]
    assert "LEAKED" not in env and "MYAPP_CONFIG" not in env


def test_the_file_overrides_the_unit_and_the_command_line_overrides_the_file(
    tmp_path,
):
    env = run_with(
        tmp_path,
        "MYAPP_CONFIG=staging\nA=from-file\nB=from-file\n",
        unit=["MYAPP_CONFIG=production", "C=from-unit"],
        after=["-u", "B", "A=from-command", "D=x=y"],
    )
    assert env["MYAPP_CONFIG"] == "staging"
    assert env["C"] == "from-unit"
    assert (env["A"], env["D"]) == ("from-command", "x=y")
    assert "B" not in env


def test_the_units_value_applies_when_the_file_is_silent(tmp_path):
    env = run_with(tmp_path, "A=1\n", unit=["MYAPP_CONFIG=production"])
    assert env["MYAPP_CONFIG"] == "production"


def test_a_missing_file_fails_before_running_anything(tmp_path):
    run = subprocess.run(
        [sys.executable, ENVFILE, str(tmp_path / "none.env"), "true"],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 64
    assert "none.env" in run.stderr
