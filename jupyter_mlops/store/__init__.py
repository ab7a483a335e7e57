"""SQL storage: ORM tables, migrations, transactions, filters and the artifact store."""
