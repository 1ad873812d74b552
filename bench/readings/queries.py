"""The SQL behind a readings request, captured in-process as the app runs it.

For the report: every statement SQLite runs for one page and its query plan;
on PostgreSQL, EXPLAIN (ANALYZE, BUFFERS) of the app's own statement.
"""

import seed


def app_on(database_url):
    """The app in-process (testing config) on the run's database."""
    from myapp import create_app

    return create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": database_url})


def login(client, username):
    return client.post(
        "/api/v1/auth/login", json={"username": username, "password": seed.PASSWORD}
    ).json["access_token"]


def explain_pg(database_url, username, path):
    """EXPLAIN (ANALYZE, BUFFERS) of the last readings query the app runs for path.

    The statement is the app's own, captured as it runs it in-process.
    """
    import sqlalchemy as sa

    from myapp.db import db

    app = app_on(database_url)
    client = app.test_client()
    seen = []
    with app.app_context():
        engine = db.engine

    @sa.event.listens_for(engine, "before_cursor_execute")
    def capture(conn, cursor, statement, parameters, context, executemany):
        if "FROM readings" in statement:
            seen.append((statement, parameters))

    token = login(client, username)
    response = client.get(path, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.json
    sa.event.remove(engine, "before_cursor_execute", capture)
    statement, parameters = seen[-1]
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
        plan = [row[0] for row in cursor.fetchall()]
    finally:
        raw.close()
        engine.dispose()
    return {
        "sql": " ".join(statement.split()),
        "parameters": {k: str(v) for k, v in dict(parameters).items()},
        "plan": plan,
    }


def statements_per_request(database_url, path):
    """Every SQL statement SQLite runs for one GET of path (bench1), and its plan."""
    import sqlalchemy as sa

    from myapp.db import db

    app = app_on(database_url)
    seen = []
    client = app.test_client()
    token = login(client, "bench1")
    with app.app_context():
        engine = db.engine
        engine.dispose()

    @sa.event.listens_for(engine, "connect")
    def trace(dbapi_connection, record):
        # SQLite reports each statement as run, raw DBAPI ones included.
        dbapi_connection.set_trace_callback(seen.append)

    for _ in range(2):  # the second request is the steady state (pooled connection)
        seen.clear()
        response = client.get(path, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200
    statements = [" ".join(s.split()) for s in seen if not s.startswith("PRAGMA")]
    page = next(s for s in statements if "FROM readings" in s)
    with app.app_context():
        plan = db.session.execute(sa.text("EXPLAIN QUERY PLAN " + page)).all()
        db.engine.dispose()
    return statements, [row[-1] for row in plan]
