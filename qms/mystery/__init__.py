"""Mystery shopping: waves, assignments, the shopper's report with evidence, review, results."""
