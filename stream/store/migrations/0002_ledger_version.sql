-- 0002 ledger version: each balance row carries its account's change counter (agents/ledger.py).
-- The upsert keeps the row with the greater (version, updated_at), so a stale copy of a balance
-- (sent late by a worker that lost the partition, or redelivered) never overwrites a newer one.
-- Rows written before this migration count as version 0: any versioned copy replaces them.
ALTER TABLE ledger_state ADD COLUMN version bigint NOT NULL DEFAULT 0 CHECK (version >= 0);
