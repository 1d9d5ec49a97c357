"""The budget ledger: per indicator amount, allocated, reserved, spent, in integer fen.

Available = amount - allocated - reserved - spent, and it never goes below zero. Callers check
`available` before asking for money; an operation that would break the invariant is a
programming error and raises InvariantViolation (an explicit raise: `assert` vanishes under -O).
"""

from collections.abc import MutableMapping
from dataclasses import dataclass

from models.errors import InvariantViolation


@dataclass(slots=True)
class Account:
    """One indicator's balances in fen."""

    amount: int
    allocated: int = 0
    reserved: int = 0
    spent: int = 0
    # Counts the changes: copies of these balances (published, persisted) are ordered by it, so
    # an older copy never overwrites a newer one, whoever sends it and whenever it arrives.
    version: int = 0

    @property
    def available(self) -> int:
        return self.amount - self.allocated - self.reserved - self.spent

    @property
    def committed(self) -> int:
        """What the indicator can no longer give back: allocated, reserved or spent."""
        return self.allocated + self.reserved + self.spent


class Ledger:
    """All indicators' accounts; every method keeps available >= 0 or raises."""

    __slots__ = ("accounts",)

    def __init__(self, accounts: MutableMapping[str, Account] | None = None) -> None:
        # Every change is written back (`accounts[id] = account`): the mapping may be a durable table.
        self.accounts: MutableMapping[str, Account] = {} if accounts is None else accounts

    def open(self, indicator_id: str, amount_fen: int) -> None:
        if indicator_id in self.accounts:
            raise InvariantViolation(f"account {indicator_id} already open")
        _positive(amount_fen)
        self.accounts[indicator_id] = Account(amount=amount_fen, version=1)

    def _changed(self, indicator_id: str, account: Account) -> None:
        """Write a changed account back (the mapping may be a durable table), one version later."""
        account.version += 1
        self.accounts[indicator_id] = account

    def available(self, indicator_id: str) -> int:
        return self.accounts[indicator_id].available

    def adjust(self, indicator_id: str, amount_fen: int) -> None:
        """A budget adjustment to a new amount, never below what is already committed."""
        account = self.accounts[indicator_id]
        _positive(amount_fen)
        if amount_fen < account.committed:
            raise InvariantViolation(f"adjusting {indicator_id} below its committed amount")
        account.amount = amount_fen
        self._changed(indicator_id, account)

    def allocate(self, parent_id: str, delta_fen: int) -> None:
        """Move `delta_fen` of the parent's available into allocations (negative gives back)."""
        account = self.accounts[parent_id]
        if delta_fen > account.available or account.allocated + delta_fen < 0:
            raise InvariantViolation(f"allocation of {delta_fen} from {parent_id} breaks its ledger")
        account.allocated += delta_fen
        self._changed(parent_id, account)

    def reserve(self, indicator_id: str, amount_fen: int) -> None:
        account = self.accounts[indicator_id]
        _positive(amount_fen)
        if amount_fen > account.available:
            raise InvariantViolation(f"reserving {amount_fen} on {indicator_id} beyond available")
        account.reserved += amount_fen
        self._changed(indicator_id, account)

    def void(self, indicator_id: str, amount_fen: int) -> None:
        """Release a reservation (a return, or a held payment rejected)."""
        account = self.accounts[indicator_id]
        if not 0 < amount_fen <= account.reserved:
            raise InvariantViolation(f"voiding {amount_fen} on {indicator_id} beyond reserved")
        account.reserved -= amount_fen
        self._changed(indicator_id, account)

    def post(self, indicator_id: str, amount_fen: int) -> None:
        """A settlement: the reservation becomes spending."""
        account = self.accounts[indicator_id]
        if not 0 < amount_fen <= account.reserved:
            raise InvariantViolation(f"posting {amount_fen} on {indicator_id} beyond reserved")
        account.reserved -= amount_fen
        account.spent += amount_fen
        self._changed(indicator_id, account)

    def reverse(self, indicator_id: str, amount_fen: int) -> None:
        """A return after settlement: the spending comes back as available."""
        account = self.accounts[indicator_id]
        if not 0 < amount_fen <= account.spent:
            raise InvariantViolation(f"reversing {amount_fen} on {indicator_id} beyond spent")
        account.spent -= amount_fen
        self._changed(indicator_id, account)


def _positive(amount_fen: int) -> None:
    if amount_fen <= 0:
        raise InvariantViolation(f"amount must be positive, got {amount_fen}")
