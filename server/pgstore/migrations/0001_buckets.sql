-- The sync data: what package store keeps in Badger under its bucket
-- tables (see store.go's key layout), one table each.

-- Settings of the store: 'cursor-key' → 32 random bytes sealing sync cursors.
CREATE TABLE meta (
	key   text PRIMARY KEY,
	value bytea NOT NULL
);

-- Each bucket's head position. A push locks its buckets' rows (SELECT …
-- FOR UPDATE) before reading their records, so writers to a bucket take
-- their turns and commit its positions in order.
CREATE TABLE bucket_heads (
	bucket uuid PRIMARY KEY,
	head   bigint NOT NULL CHECK (head >= 0)
);

-- The bucket logs: every accepted change (a throughcare.v1.HistoryEntry).
CREATE TABLE log_entries (
	bucket   uuid   NOT NULL,
	position bigint NOT NULL CHECK (position > 0),
	record   uuid   NOT NULL,
	entry    bytea  NOT NULL,
	PRIMARY KEY (bucket, position)
);
CREATE INDEX log_entries_record ON log_entries (bucket, record, position);

-- Each record's compacted state (a throughcare.v1.RecordState) as of its
-- last change, at that change's position: "changed since p" is one range
-- of records_position.
CREATE TABLE records (
	bucket   uuid   NOT NULL,
	record   uuid   NOT NULL,
	position bigint NOT NULL CHECK (position > 0),
	state    bytea  NOT NULL,
	PRIMARY KEY (bucket, record)
);
CREATE UNIQUE INDEX records_position ON records (bucket, position);

-- Records that had a change accepted as late work.
CREATE TABLE late_records (
	bucket uuid NOT NULL,
	record uuid NOT NULL,
	PRIMARY KEY (bucket, record)
);

-- Each device's high-water mark (device ids are 1 to 255 bytes).
CREATE TABLE devices (
	device     bytea  PRIMARY KEY,
	high_water bigint NOT NULL CHECK (high_water >= 0)
);

-- The results of rejected changes (throughcare.v1.ChangeResult), so a
-- resend reports the same rejection.
CREATE TABLE rejections (
	device bytea  NOT NULL,
	seq    bigint NOT NULL,
	result bytea  NOT NULL,
	PRIMARY KEY (device, seq)
);

-- For each device and bucket, the end of access (Unix ns) whose eviction
-- the device was last sent.
CREATE TABLE evictions (
	device bytea  NOT NULL,
	bucket uuid   NOT NULL,
	ended  bigint NOT NULL CHECK (ended > 0),
	PRIMARY KEY (device, bucket)
);

-- Audit entries appended by bucket transactions (store.Audit, canonical
-- encoding, Seq and Prev zero), committed with their operations, waiting
-- to be sealed into their area's chain.
CREATE TABLE audit_pending (
	id    uuid  PRIMARY KEY,
	area  bytea NOT NULL,
	entry bytea NOT NULL
);
