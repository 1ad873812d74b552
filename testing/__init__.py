"""Test support: plain helpers that tests, benchmarks and deploy tests import.

conftest.py files hold fixtures only; anything a test module imports by name
lives here, one module per subject:

    servers   free_port, Uwsgi (myapp.ini on a loopback port), Redis, wait_until
    http      Http: requests to a live server, every body scanned for leaks
    accounts  PASSWORD, Account (test client), accounts over HTTP, admins
    tokens    bearer, every kind of bad token (BAD_TOKEN_KINDS, bad_headers)
    readings  readings URLs and payload builders
    goals     goals URLs and tree walking
    browser   chromium(): Debian's chromium under Playwright
    devices, alerts, measured   their URLs, payloads and plain recomputations
    calendar_stats   stats recomputed from each reading's local time (the oracle)
    limits    racing creates against a per-user limit
    statements, sockets   driver-level statement counts; another process's sockets
    deploys, sshd, hosts   the deploy tests: hosts and releases, a loopback sshd,
              network-namespace hosts with PostgreSQL, Redis and nginx
"""
