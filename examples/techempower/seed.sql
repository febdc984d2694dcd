-- seed.sql -- TechEmpower's data: World rows 1..10000 with random numbers in
-- 1..10000, and the 12 fortunes (the <script> one tests escaping).
-- Idempotent (INSERT OR IGNORE): run it after the server created the tables,
--     sqlite3 app.db < seed.sql
-- tests/test_techempower.c and tests/bench/bench_techempower.sh do just that.
BEGIN;
INSERT OR IGNORE INTO World (id, randomNumber)
  WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000)
  SELECT i, abs(random()) % 10000 + 1 FROM n;
INSERT OR IGNORE INTO Fortune (id, message) VALUES
  (1, 'fortune: No such file or directory'),
  (2, 'A computer scientist is someone who fixes things that aren''t broken.'),
  (3, 'After enough decimal places, nobody gives a damn.'),
  (4, 'A bad random number generator: 1, 1, 1, 1, 1, 4.33e+67, 1, 1, 1'),
  (5, 'A computer program does what you tell it to do, not what you want it to do.'),
  (6, 'Emacs is a nice operating system, but I prefer UNIX. — Tom Christaensen'),
  (7, 'Any program that runs right is obsolete.'),
  (8, 'A list is only as strong as its weakest link. — Donald Knuth'),
  (9, 'Feature: A bug with seniority.'),
  (10, 'Computers make very fast, very accurate mistakes.'),
  (11, '<script>alert("This should not be displayed in a browser alert box.");</script>'),
  (12, 'フレームワークのベンチマーク');
COMMIT;
