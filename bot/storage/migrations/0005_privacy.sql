-- Privacy: forgotten-person tombstones, verified account links, pending link codes.

-- One random key per database for the tombstone HMAC. randomblob() runs inside
-- SQLite, so the key never passes through a bound parameter (and so never through
-- a DEBUG log of the driver). It never leaves the database file.
CREATE TABLE privacy_secret (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    salt BLOB NOT NULL
);
INSERT INTO privacy_secret (id, salt) VALUES (1, randomblob(32));

-- Who asked to be forgotten, as HMAC-SHA256(salt, platform || 0x00 || external_id):
-- enough to refuse re-importing them, not enough to tell who they were.
CREATE TABLE forgotten (
    digest BLOB PRIMARY KEY
) WITHOUT ROWID;

-- A person's own account (account_id) linked to an account they proved they own on
-- another network (linked_id). One linked account belongs to at most one person.
CREATE TABLE account_links (
    account_id INTEGER NOT NULL,
    platform TEXT NOT NULL,
    linked_id INTEGER NOT NULL UNIQUE,
    linked_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, platform)
) WITHOUT ROWID;

-- A link waiting for proof. The code itself is not stored: it is derived from the
-- nonce and the database key, so a copy of this table cannot be used to link.
CREATE TABLE link_codes (
    account_id INTEGER NOT NULL,
    platform TEXT NOT NULL,
    handle TEXT NOT NULL,
    nonce TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, platform)
) WITHOUT ROWID;
