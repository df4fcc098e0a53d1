-- The directory: what package store keeps in Badger under its directory
-- tables (see directory.go). Entities are stored as package store's JSON
-- (doc) beside the columns they are looked up by. Ids are bytea, so any
-- id the Badger store takes is taken here, and orders are byte orders, as
-- in Badger.

CREATE TABLE areas (
	id  bytea PRIMARY KEY,
	doc bytea NOT NULL
);

CREATE TABLE teams (
	id   bytea PRIMARY KEY,
	area bytea NOT NULL,
	doc  bytea NOT NULL
);
CREATE INDEX teams_area ON teams (area);

CREATE TABLE users (
	id   bytea PRIMARY KEY,
	area bytea NOT NULL,
	doc  bytea NOT NULL
);
CREATE INDEX users_area ON users (area);

-- WebAuthn user handle → the user last stored with it.
CREATE TABLE user_handles (
	handle bytea PRIMARY KEY,
	user_id bytea NOT NULL
);

CREATE TABLE directory_devices (
	id      bytea PRIMARY KEY,
	user_id bytea NOT NULL,
	doc     bytea NOT NULL
);
CREATE INDEX directory_devices_user ON directory_devices (user_id);

-- WebAuthn credential id → the primary device last stored with it.
CREATE TABLE device_credentials (
	credential bytea PRIMARY KEY,
	device     bytea NOT NULL
);

-- Sessions, with the hashes of their tokens (never the tokens), swept
-- once past expires_at (their absolute expiry, Unix ns; NULL: never).
CREATE TABLE sessions (
	id                    bytea PRIMARY KEY,
	user_id               bytea NOT NULL,
	device                bytea NOT NULL,
	access_hash           bytea NOT NULL,
	refresh_hash          bytea,
	previous_refresh_hash bytea,
	expires_at            bigint,
	doc                   bytea NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expires_at);
CREATE INDEX sessions_access ON sessions (access_hash);
CREATE INDEX sessions_refresh ON sessions (refresh_hash);
CREATE INDEX sessions_previous_refresh ON sessions (previous_refresh_hash);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_device ON sessions (device);

-- WebAuthn ceremonies in progress; expires_at (Unix ns; NULL: never) is
-- the store's clock's: a ceremony past it is not read, and is swept.
CREATE TABLE ceremonies (
	id         bytea  PRIMARY KEY,
	expires_at bigint,
	doc        bytea  NOT NULL
);
CREATE INDEX ceremonies_expiry ON ceremonies (expires_at);

-- Invites, under the hash of their code, indexed under their area by id;
-- kept (read, then swept) until kept_until (Unix ns, InviteKeptFor past
-- their expiry).
CREATE TABLE invites (
	hash       bytea  PRIMARY KEY,
	area       bytea  NOT NULL,
	id         bytea  NOT NULL,
	kept_until bigint NOT NULL,
	doc        bytea  NOT NULL
);
CREATE UNIQUE INDEX invites_area_id ON invites (area, id);
CREATE INDEX invites_kept_until ON invites (kept_until);

CREATE TABLE clients (
	id   bytea PRIMARY KEY,
	area bytea NOT NULL,
	team bytea NOT NULL,
	doc  bytea NOT NULL
);
CREATE INDEX clients_area ON clients (area);
CREATE INDEX clients_team ON clients (team);

-- Assignment periods of workers to clients; from_ns is the start (Unix ns).
CREATE TABLE assignments (
	user_id bytea  NOT NULL,
	client  bytea  NOT NULL,
	from_ns bigint NOT NULL,
	doc     bytea  NOT NULL,
	PRIMARY KEY (user_id, client, from_ns)
);
CREATE INDEX assignments_client ON assignments (client, user_id, from_ns);

-- Tombstones of clients purged for retention.
CREATE TABLE purged_clients (
	id  bytea PRIMARY KEY,
	doc bytea NOT NULL
);

-- The audit chains, one per area: entry seq of an area (canonical
-- encoding, store.Audit.Encode). The primary key makes an entry
-- impossible to overwrite; nothing updates or deletes this table.
CREATE TABLE audit_entries (
	area  bytea  NOT NULL,
	seq   bigint NOT NULL CHECK (seq > 0),
	entry bytea  NOT NULL,
	PRIMARY KEY (area, seq)
);

-- Each area's chain head: the last entry's seq and the SHA-256 of its
-- encoding. A sealing transaction locks it (FOR UPDATE), so concurrent
-- sealers take turns and the chain never forks.
CREATE TABLE audit_heads (
	area bytea  PRIMARY KEY,
	seq  bigint NOT NULL CHECK (seq >= 0),
	hash bytea  NOT NULL
);

-- The entries of a chain about a client and by a user.
CREATE TABLE audit_of_client (
	area   bytea  NOT NULL,
	client bytea  NOT NULL,
	seq    bigint NOT NULL,
	PRIMARY KEY (area, client, seq)
);
CREATE TABLE audit_of_user (
	area    bytea  NOT NULL,
	user_id bytea  NOT NULL,
	seq     bigint NOT NULL,
	PRIMARY KEY (area, user_id, seq)
);

-- Pending entries are sealed area by area, oldest first.
CREATE INDEX audit_pending_area ON audit_pending (area, id);
