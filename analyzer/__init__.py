"""The analyzer: margins, trends, cohorts and forecasts from the sample stream and the inventory."""
