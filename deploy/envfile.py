"""Read the env file exactly as systemd's EnvironmentFile= does, and run with it.

Sourcing the file with a shell expands `$`, splits on `&` and drops quotes that
systemd keeps, so migrations and the canary would run with another
configuration than the service. Standard library only (runs with the server's
python3).

    envfile.py [--unit NAME=VALUE]... FILE [-u NAME]... [NAME=VALUE]... COMMAND [ARG]...

runs COMMAND with the service's environment: a login's basics (PATH, HOME, ...),
then each --unit assignment (the unit's Environment=, which the file overrides,
as in systemd), then FILE, then the `env`-style changes after it.
"""

import os
import re
import sys

# What systemd itself gives a service with User=; nothing else leaks in.
BASICS = ("PATH", "LANG", "HOME", "USER", "LOGNAME", "SHELL")
VALID_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
WHITESPACE = " \t\n\r"
NEWLINE = "\n\r"
# A backslash inside double quotes escapes only these, as in a POSIX shell.
DOUBLE_QUOTE_ESCAPES = '"\\`$'


def parse(text):
    """NAME -> value for each assignment in an EnvironmentFile's text.

    The state machine of systemd's parse_env_file_internal (src/basic/env-file.c):
    `#`/`;` start a comment only at the start of a line; unquoted values keep
    inner whitespace, quotes and `$` literally and lose trailing whitespace; `\\`
    escapes the next character and joins lines; '...' is verbatim; "..." knows
    the shell's escapes; a later assignment wins. Names systemd would drop
    (not [A-Za-z_][A-Za-z0-9_]*) are dropped.
    """
    if "\0" in text:
        raise ValueError("a NUL byte: systemd reads the file only up to it")
    found = {}
    key, value, state = "", None, "pre_key"
    key_end = value_end = None  # where trailing whitespace began, if it did

    def push():
        name = key[:key_end]
        # Only an unquoted value ending the assignment loses trailing whitespace.
        text = (value or "")[: value_end if state == "value" else None]
        if not is_utf8(name) or not is_utf8(text):
            raise ValueError(f"invalid UTF-8 in the assignment of {name!r}")
        if VALID_NAME.match(name):
            found[name] = text

    for c in text:
        if state == "pre_key":
            if c in "#;":
                state = "comment"
            elif c not in WHITESPACE:
                state, key, key_end = "key", c, None
        elif state == "key":
            if c in NEWLINE:
                state = "pre_key"
            elif c == "=":
                state, value, value_end = "pre_value", None, None
            else:
                key_end = trailing_whitespace(key, key_end, c)
                key += c
        elif state == "pre_value":
            if c in NEWLINE:
                push()
                state = "pre_key"
            elif c == "'":
                state, value = "single", value or ""
            elif c == '"':
                state, value = "double", value or ""
            elif c == "\\":
                state, value = "value_escape", value or ""
            elif c not in WHITESPACE:
                state, value = "value", (value or "") + c
        elif state == "value":
            if c in NEWLINE:
                push()
                state = "pre_key"
            elif c == "\\":
                state, value_end = "value_escape", None
            else:
                value_end = trailing_whitespace(value, value_end, c)
                value += c
        elif state == "value_escape":
            state = "value"
            if c not in NEWLINE:
                value += c
        elif state == "single":
            if c == "'":
                state = "pre_value"
            else:
                value += c
        elif state == "double":
            if c == '"':
                state = "pre_value"
            elif c == "\\":
                state = "double_escape"
            else:
                value += c
        elif state == "double_escape":
            state = "double"
            if c in DOUBLE_QUOTE_ESCAPES:
                value += c
            elif c != "\n":
                value += "\\" + c
        elif state == "comment":
            if c == "\\":
                state = "comment_escape"
            elif c in NEWLINE:
                state = "pre_key"
        elif state == "comment_escape":
            state = "pre_key" if c in NEWLINE else "comment"
    if state not in ("pre_key", "key", "comment", "comment_escape"):
        push()
    return found


def trailing_whitespace(text, start, c):
    """Where the whitespace ending text + c begins (None: it ends in another char)."""
    if c not in WHITESPACE:
        return None
    return len(text) if start is None else start


def is_utf8(text):
    """False when decoding with surrogateescape met bytes that are not UTF-8."""
    return not any("\udc80" <= c <= "\udcff" for c in text)


def read(path):
    """The assignments in an EnvironmentFile; systemd refuses one that is not UTF-8."""
    with open(path, "rb") as handle:
        return parse(handle.read().decode("utf-8", "surrogateescape"))


def service_environment(path, unit=None, environ=None):
    """The environment a systemd service with this EnvironmentFile starts with."""
    environ = os.environ if environ is None else environ
    env = {name: environ[name] for name in BASICS if name in environ}
    env.update(unit or {})
    env.update(read(path))
    return env


def assignment(text):
    """NAME=VALUE as a pair; the name must be one systemd accepts."""
    name, sep, value = text.partition("=")
    if not sep or not VALID_NAME.match(name):
        raise ValueError(f"not a NAME=VALUE assignment: {text!r}")
    return name, value


def split_command_line(argv):
    """(unit assignments, file, names to unset, assignments, command) from argv."""
    unit, rest = {}, list(argv)
    while len(rest) > 1 and rest[0] == "--unit":
        unit.update([assignment(rest[1])])
        del rest[:2]
    if not rest:
        raise ValueError("no environment file given")
    path, unset, changes = rest.pop(0), [], {}
    while rest:
        if rest[0] == "-u" and len(rest) > 1:
            unset.append(rest[1])
            del rest[:2]
        elif VALID_NAME.match(rest[0].partition("=")[0]) and "=" in rest[0]:
            changes.update([assignment(rest.pop(0))])
        else:
            break
    if not rest:
        raise ValueError("no command given")
    return unit, path, unset, changes, rest


def main(argv):
    """Exec the command with the service's environment (never returns on success)."""
    try:
        unit, path, unset, changes, command = split_command_line(argv)
        env = service_environment(path, unit)
    except (ValueError, OSError) as error:
        print(f"envfile.py: {error}", file=sys.stderr)
        return 64
    for name in unset:
        env.pop(name, None)
    env.update(changes)
    os.execvpe(command[0], command, env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
