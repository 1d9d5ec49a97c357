"""Treasury cash forecasting: the calendar model, its calibration, cash-risk rules and S001."""
