"""Pure calculations, no Flask and no database: survey metrics, weighted scoring, inter-rater
reliability, and (later) AHP and DEA."""
