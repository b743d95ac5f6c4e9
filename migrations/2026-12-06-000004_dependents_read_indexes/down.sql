DROP INDEX dependencies_package_peer_stars;
DROP INDEX dependencies_package_optional_stars;
DROP INDEX dependencies_package_test_stars;
DROP INDEX dependencies_package_build_stars;
CREATE INDEX dependencies_package_pushed ON dependencies
    (package_id, repo_pushed_at DESC NULLS LAST, repository_id);
DROP INDEX dependencies_package_pushed_key;
