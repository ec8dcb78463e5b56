//! In-memory adapter (in progress).
