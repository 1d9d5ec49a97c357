-- 0002 chain rows: a fund chain as rows (one per indicator, one per payment) instead of one JSON
-- payload, so a chain is walked down from its root and a payment up to it with recursive SQL.

DROP TABLE chains;

-- Every indicator on the ledger, with the chain it belongs to and its parent in it.
CREATE TABLE chain_nodes (
    indicator_id        text        PRIMARY KEY,
    root                text        NOT NULL,
    parent_indicator_id text,
    treasury_code       text        NOT NULL,
    agency_code         text        NOT NULL,
    amount_fen          bigint      NOT NULL CHECK (amount_fen > 0),
    allocated_fen       bigint      NOT NULL CHECK (allocated_fen >= 0),
    reserved_fen        bigint      NOT NULL CHECK (reserved_fen >= 0),
    spent_fen           bigint      NOT NULL CHECK (spent_fen >= 0),
    issued_at           timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CHECK (allocated_fen + reserved_fen + spent_fen <= amount_fen)
);
CREATE INDEX chain_nodes_root ON chain_nodes (root);
CREATE INDEX chain_nodes_parent ON chain_nodes (parent_indicator_id);

-- Every decided payment out of a chain, to its end recipient (the real-name ledger, 实名台账).
CREATE TABLE chain_payments (
    payment_id    text        PRIMARY KEY,
    indicator_id  text        NOT NULL,
    root          text        NOT NULL,
    payee_name    text        NOT NULL,
    payee_account text        NOT NULL,
    payee_kind    text        NOT NULL,
    amount_fen    bigint      NOT NULL CHECK (amount_fen > 0),
    status        text        NOT NULL CHECK (status IN ('accepted', 'held', 'settled', 'returned', 'rejected')),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX chain_payments_indicator ON chain_payments (indicator_id);
CREATE INDEX chain_payments_root ON chain_payments (root);
