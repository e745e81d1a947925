"""From solver answers to readable evidence: every violation of an invariant, the flows between groups."""
