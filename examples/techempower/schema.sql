-- schema.sql -- the two tables of the TechEmpower benchmark.
-- Rows are not created here: seed.sql fills them (10,000 worlds, the 12
-- fortunes); run it once after the first start:  sqlite3 app.db < seed.sql
-- (the upper-case names are TechEmpower's own).

CREATE TABLE World (
  id INTEGER PRIMARY KEY,
  randomNumber INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE Fortune (
  id INTEGER PRIMARY KEY,
  message TEXT NOT NULL
);
