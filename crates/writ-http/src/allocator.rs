//! The binaries' global allocator, jemalloc (the `jemalloc` feature, on by default in every
//! binary). On the token endpoint it costs ~10 µs less CPU per token than glibc's malloc, whose
//! per-thread arenas also keep memory freed on another thread (docs/performance.md).
#![allow(unsafe_code)]

#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's startup options, read before the first allocation (`_RJEM_MALLOC_CONF` in the
/// environment overrides them): a background thread returns memory freed for a second to the
/// system, rather than allocating threads doing it after ten.
// SAFETY: the symbol jemalloc reads as its `const char *malloc_conf`: a reference to an array is a
// thin pointer to its first byte, and the string is NUL-terminated and lives as long as the process.
#[unsafe(export_name = "_rjem_malloc_conf")]
static MALLOC_CONF: &[u8; 60] = b"background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0\0";
