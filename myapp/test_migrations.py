"""The migrations build exactly the schema the models describe."""

import warnings

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from myapp.db import db, migrations_directory


def test_models_and_migrations_agree(app):
    with app.app_context():
        with db.engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True}
            )
            with warnings.catch_warnings():
                # Alembic cannot compare expression indexes; it says so and skips them.
                warnings.simplefilter("ignore", UserWarning)
                differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_migrations_have_a_single_head():
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", migrations_directory())
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, f"merge the migration heads: {heads}"
