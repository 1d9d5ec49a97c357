"""Operator actions (acknowledge, resolve, release, reject) carried to the engine that owns the state."""

from stream.operator.port import Action, Command, Operator, OperatorResult, ResultStatus

__all__ = ["Action", "Command", "Operator", "OperatorResult", "ResultStatus"]
