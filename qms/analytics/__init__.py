"""Pure calculations: survey metrics (NPS, CSAT, CES, response rate) and, later, AHP and DEA."""
