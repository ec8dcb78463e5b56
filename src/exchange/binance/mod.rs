//! Binance adapter (in progress).
