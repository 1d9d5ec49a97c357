"""`treasury backtest FILE`: replay a file and score every forecast against the balances that came."""

from pathlib import Path

from agents.forecasting.backtest import Backtest, HorizonScore, summary
from models.codec import decode_line
from models.errors import InvalidInput, TreasuryError
from models.inputs import TreasuryBalance
from models.money import format_fen
from models.outputs import Forecast
from stream.embedded import read_lines
from stream.engine import Engine


def backtest_file(path: Path, engine: Engine) -> list[HorizonScore]:
    """Replay `path` through the engine (file order, event time only) and score its forecasts."""
    if not path.is_file():
        raise TreasuryError(f"input file {path} does not exist or is not a file")
    scoring = Backtest(engine.rules.cash.horizon_days)
    day_of = engine.cash.forecasting.day
    with path.open("rb") as handle:
        for number, line in read_lines(handle, engine.max_line_bytes):
            if not isinstance(line, bytes):
                continue  # an overlong line: a dead letter in a replay, nothing to score here
            try:
                event = decode_line(line, engine.max_line_bytes)
            except InvalidInput:
                continue
            if isinstance(event, TreasuryBalance):
                scoring.statement(event.treasury_code, day_of(event.as_of), event.balance)
            for out in engine.handle(event, line, path.name, number):
                if isinstance(out, Forecast):
                    scoring.forecast(out)
    return scoring.scores()


def report(scores: list[HorizonScore]) -> str:
    """The table printed by the CLI: per horizon, P50 and naive MAE (yuan), their ratio, coverage."""
    rows = ["horizon  outcomes        P50 MAE      naive MAE   ratio  in P10-P90"]
    for s in scores:
        rows.append(f"{s.horizon:7d}  {s.outcomes:8d}  {format_fen(round(s.p50_mae)):>13}  "
                    f"{format_fen(round(s.naive_mae)):>13}  {s.ratio:6.3f}  {s.inside:8.1%}")
    model, naive, inside = summary(scores)
    ratio = model / naive if naive else 0.0
    rows.append(f"mean 1-{scores[-1].horizon if scores else 0}  {format_fen(round(model)):>23}  "
                f"{format_fen(round(naive)):>13}  {ratio:6.3f}  {inside:8.1%}")
    return "\n".join(rows)
