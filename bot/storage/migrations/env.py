"""Alembic environment: migrations run on a connection handed in by ``bot.storage.db``."""

from alembic import context

from bot.storage.models import Base, with_postgresql_options

connection = context.config.attributes.get("connection")
if connection is None:
    msg = "run migrations with `supportbot db upgrade`, which provides the connection"
    raise RuntimeError(msg)
with_postgresql_options()  # whatever the database: autogenerate must see both dialects
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
