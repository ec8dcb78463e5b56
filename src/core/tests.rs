//! Cross-family property tests: reconcile + apply converges and is idempotent.
