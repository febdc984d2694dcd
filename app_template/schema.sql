-- schema.sql -- the one place this app's schema is written.
--
-- Save this file while `cotdev run` is running and the database follows:
-- additive changes (a new table, a new column) apply at once; destructive
-- ones (dropping a table or column) wait for
--     cotdev migrate --apply --allow-destructive
-- Rename with a comment instead of drop + add, and the data moves along:
--     title TEXT NOT NULL,  -- @renamed from=heading

CREATE TABLE notes (
  id INTEGER PRIMARY KEY,
  title TEXT NOT NULL,
  body TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);
