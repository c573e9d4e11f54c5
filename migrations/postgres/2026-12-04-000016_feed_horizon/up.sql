-- How far the feed has been purged. Events up to `purged_through` are gone: a reader whose cursor
-- is below it would miss some, so it is told to synchronise again from the lists.
CREATE TABLE feed_horizon (
    name TEXT NOT NULL PRIMARY KEY,
    purged_through BIGINT NOT NULL
);
INSERT INTO feed_horizon (name, purged_through) VALUES ('events', 0);
