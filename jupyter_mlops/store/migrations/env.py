"""Alembic environment: run on the connection jupyter_mlops hands over (see store/schema.py)."""

from alembic import context

from jupyter_mlops.store.models import Base

connection = context.config.attributes["connection"]
# render_as_batch: SQLite cannot ALTER most things; batch mode copies the table instead.
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
