-- Indexes that already hold the order of the dependents listings the old ones could not
-- serve by a range scan (docs/benchmarks.md, `just bench-reads`).
--
-- Most recently pushed first, never pushed last: ordered by coalesce(pushed, '-infinity'),
-- which is the same order (no real push time is -infinity) with no NULLs in it, so a
-- cursor "after (time, id)" is one range of this index instead of an OR with IS NULL that
-- made page 1,000 scan and discard the 10,000 rows before it.
CREATE INDEX dependencies_package_pushed_key ON dependencies
    (package_id, coalesce(repo_pushed_at, '-infinity'::timestamptz) DESC, repository_id);
DROP INDEX dependencies_package_pushed;

-- The rare kinds: a listing filtered by one of them walked the package's edges by stars
-- and kept one in a hundred (peer), thousands of rows for a page of the top package. A
-- partial index per rare kind holds just those edges in the listing's order (about a tenth
-- of the edges over all four). Runtime and development are common enough that the main
-- index finds a page of them in a few dozen rows.
CREATE INDEX dependencies_package_build_stars ON dependencies
    (package_id, repo_stars DESC, repository_id) WHERE kinds @> '{build}';
CREATE INDEX dependencies_package_test_stars ON dependencies
    (package_id, repo_stars DESC, repository_id) WHERE kinds @> '{test}';
CREATE INDEX dependencies_package_optional_stars ON dependencies
    (package_id, repo_stars DESC, repository_id) WHERE kinds @> '{optional}';
CREATE INDEX dependencies_package_peer_stars ON dependencies
    (package_id, repo_stars DESC, repository_id) WHERE kinds @> '{peer}';
