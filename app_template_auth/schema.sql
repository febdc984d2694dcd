-- schema.sql -- the one place this app's schema is written.
--
-- Save this file while `cotdev run` is running and the database follows:
-- additive changes (a new table, a new column) apply at once; destructive
-- ones (dropping a table or column) wait for
--     cotdev migrate --apply --allow-destructive
-- Rename with a comment instead of drop + add, and the data moves along:
--     title TEXT NOT NULL,  -- @renamed from=heading

-- Accounts (cotdev new --auth). password_hash is argon2id from
-- cot_password_hash: never store a password itself.
CREATE TABLE users (
  id INTEGER PRIMARY KEY,
  email TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- Each note belongs to the user who wrote it; handlers/notes.c shows a
-- user only their own.
CREATE TABLE notes (
  id INTEGER PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users (id),
  title TEXT NOT NULL,
  body TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE INDEX notes_user_id ON notes (user_id);
