"""A session and its steps as spans: attributes, invocations, totals, ids, metrics."""
