//! Shared inputs for courier's benchmarks.
