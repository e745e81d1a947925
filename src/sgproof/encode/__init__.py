"""The only z3 code: atoms, classes and one query per invariant."""
