-- The email history loses its foreign key to syncer.mgid_client (issue 14).
--
-- Postgres checks a foreign key row by row (a trigger and an index lookup
-- per inserted row): an agency's first snapshot writes one email row per
-- client, and for 200,000 clients the check took 2.4 s of the 4.2 s the
-- insert took (EXPLAIN ANALYZE, "Trigger for constraint
-- mgid_client_email_client_key_fkey"). The only writer of the table is the
-- snapshot path, which inserts a client's email in the same statement or
-- transaction that writes the client (client_key comes from the client's
-- own row), and nothing deletes clients.

-- +goose Up
ALTER TABLE syncer.mgid_client_email DROP CONSTRAINT mgid_client_email_client_key_fkey;

-- +goose Down
ALTER TABLE syncer.mgid_client_email
    ADD CONSTRAINT mgid_client_email_client_key_fkey FOREIGN KEY (client_key) REFERENCES syncer.mgid_client (client_key);
