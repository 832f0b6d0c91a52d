"""The read side's stores: projection tables on PostgreSQL (psycopg writes, asyncpg reads) and on SQLite."""
