"""Two cash histories that raise every R-code, for checking forecasting changes end to end.

    python ops/bench/cash_scenarios.py DIR     # writes DIR/cashbreak.jsonl and DIR/lowcash.jsonl

cashbreak: `cash_history(seed=1, break_on=2022-03-16)`, a debt service that breaks the floor
(R002 and R006 30 days ahead). lowcash: `cash_history(seed=2, code="150200")` with each month's
balance statements scaled by a factor from -0.1x to 6x, so R001-R007 are all raised.
"""

import sys
from datetime import date
from pathlib import Path

import orjson

from models.money import format_fen, parse_fen
from stream.demo.cash_history import cash_history

# Month -> factor applied to that month's balance statements (lowcash).
_FACTORS = {1: 0.02, 2: 0.05, 3: 0.3, 4: 1, 5: 4, 6: 0.0, 7: -0.1, 8: 0.08, 9: 1, 10: 6, 11: 0.01, 12: 1}


def lowcash() -> list[bytes]:
    out = []
    for line in cash_history(seed=2, code="150200"):
        obj = orjson.loads(line)
        if obj["type"] == "treasury_balance":
            data = obj["data"]
            fen = parse_fen(data["balance"], signed=True)
            data["balance"] = format_fen(int(fen * _FACTORS[int(data["as_of"][5:7])]))
        out.append(orjson.dumps(obj) + b"\n")
    return out


def main() -> None:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    (out / "cashbreak.jsonl").write_bytes(b"".join(cash_history(seed=1, break_on=date(2022, 3, 16))))
    (out / "lowcash.jsonl").write_bytes(b"".join(lowcash()))


if __name__ == "__main__":
    main()
