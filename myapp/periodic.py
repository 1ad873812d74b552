"""Background jobs that features hand to the worker process (flask alerts worker).

A feature adds a job in its init_app; the worker runs each in a thread of its
own: at start, then every `every` seconds (a config key, read at start), in an
app context, until it stops. run(stopping) should return between short steps
once stopping (a threading.Event) is set.
"""

from typing import Callable, NamedTuple


class Job(NamedTuple):
    name: str
    every: str  # the config key holding the interval, in seconds
    run: Callable


def add(app, *, name, every, run):
    """Hand the worker a job: run(stopping) every app.config[every] seconds."""
    app.extensions.setdefault("myapp.periodic", []).append(Job(name, every, run))


def jobs(app):
    """The jobs features handed in, in the order they were added."""
    return list(app.extensions.get("myapp.periodic", []))
