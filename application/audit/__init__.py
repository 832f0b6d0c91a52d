"""The auditor's ledger: hash-chained lines, signed exports and checkpoints, offline verification."""
