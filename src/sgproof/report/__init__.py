"""Reports: one results type, rendered as text, JSON and the other formats."""
