"""Quality scorecards: KPI catalogue, scorecard models with AHP weights, snapshots, PDFs."""
