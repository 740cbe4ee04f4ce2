"""``flask ledger verify``: checks every invariant of the ledger over the whole history.

Each check is one SQL query that returns the offending rows, so it runs in the database
even for millions of entries. Operators run it from cron; it exits non-zero when anything
is wrong and names what.
"""

from sqlalchemy import text

from ruilkring.extensions import db

# name -> (what it means, SQL returning one row per problem; the first column identifies it)
CHECKS = {
    "ring_sum_zero": (
        "the balances of a ring do not add up to zero",
        """SELECT ring_id, SUM(balance) FROM accounts GROUP BY ring_id HAVING SUM(balance) <> 0""",
    ),
    "two_entries": (
        "a transfer does not have exactly two entries of -amount (payer) and +amount (payee)",
        """SELECT t.id, COUNT(e.id) FROM transfers t
           LEFT JOIN entries e ON e.transfer_id = t.id
           GROUP BY t.id, t.amount, t.payer_account_id, t.payee_account_id
           HAVING COUNT(e.id) <> 2
              OR SUM(CASE WHEN e.account_id = t.payer_account_id AND e.amount = -t.amount THEN 1 ELSE 0 END) <> 1
              OR SUM(CASE WHEN e.account_id = t.payee_account_id AND e.amount = t.amount THEN 1 ELSE 0 END) <> 1""",
    ),
    "cached_balance": (
        "an account's cached balance or version differs from the sum or count of its entries",
        """SELECT a.id, a.balance, COALESCE(SUM(e.amount), 0), a.version, COUNT(e.id)
           FROM accounts a LEFT JOIN entries e ON e.account_id = a.id
           GROUP BY a.id, a.balance, a.version
           HAVING a.balance <> COALESCE(SUM(e.amount), 0) OR a.version <> COUNT(e.id)
               OR a.version <> COALESCE(MAX(e.account_version), 0)""",
    ),
    "running_balance": (
        "an entry's balance_after is not the previous balance plus its amount",
        """SELECT id, account_id, account_version FROM (
             SELECT id, account_id, account_version, amount, balance_after,
                    LAG(balance_after, 1, 0) OVER (PARTITION BY account_id ORDER BY account_version) AS before
             FROM entries) AS running
           WHERE balance_after <> before + amount""",
    ),
    "limits": (
        "an entry took an account past the limit in force without a logged override",
        """SELECT e.id, e.account_id, e.balance_after FROM entries e JOIN transfers t ON t.id = e.transfer_id
           WHERE NOT t.limit_override AND (
                 (e.amount < 0 AND e.min_balance IS NOT NULL AND e.balance_after < e.min_balance)
              OR (e.amount > 0 AND e.max_balance IS NOT NULL AND e.balance_after > e.max_balance))""",
    ),
    "override_logged": (
        "a transfer overrode the limits without a recorded reason",
        """SELECT id FROM transfers WHERE limit_override AND TRIM(reason) = ''""",
    ),
    "idempotency_unique": (
        "an idempotency key is used by more than one transfer",
        """SELECT idempotency_key, COUNT(*) FROM transfers GROUP BY idempotency_key HAVING COUNT(*) > 1""",
    ),
    "one_reversal": (
        "a transfer is reversed more than once, or a reversal does not mirror its original",
        """SELECT o.id, COUNT(r.id) FROM transfers o JOIN transfers r ON r.reverses_id = o.id
           GROUP BY o.id, o.amount, o.payer_account_id, o.payee_account_id
           HAVING COUNT(r.id) > 1 OR MAX(r.amount) <> o.amount
               OR MAX(r.payer_account_id) <> o.payee_account_id OR MAX(r.payee_account_id) <> o.payer_account_id""",
    ),
    "same_ring": (
        "a transfer or entry crosses rings",
        """SELECT t.id FROM transfers t JOIN accounts p ON p.id = t.payer_account_id
           JOIN accounts q ON q.id = t.payee_account_id
           WHERE p.ring_id <> t.ring_id OR q.ring_id <> t.ring_id""",
    ),
}


def ledger_verify() -> list[str]:
    """Run every check; returns one line per problem (empty when the books are right)."""
    problems = []
    for name, (meaning, sql) in CHECKS.items():
        for row in db.session.execute(text(sql)).all():
            problems.append(f"{name}: {meaning}: {tuple(row)}")
    return problems
