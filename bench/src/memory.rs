//! Bytes in use, counted by the allocator, for what the page's model keeps.
//!
//! Counting is off until [`count`] is called: the relay's benchmarks, which
//! run first and on many threads, pay only a flag's load per allocation.

use std::{
    alloc::{GlobalAlloc, Layout, System},
    sync::atomic::{AtomicBool, AtomicIsize, Ordering::Relaxed},
};

struct Counting;

static ON: AtomicBool = AtomicBool::new(false);
static IN_USE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is passed on to the system allocator unchanged; the
// counters are only read.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if ON.load(Relaxed) {
            IN_USE.fetch_add(layout.size() as isize, Relaxed);
        }
        // SAFETY: as the caller promised us.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if ON.load(Relaxed) {
            IN_USE.fetch_sub(layout.size() as isize, Relaxed);
        }
        // SAFETY: as the caller promised us.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if ON.load(Relaxed) {
            IN_USE.fetch_add(new_size as isize - layout.size() as isize, Relaxed);
        }
        // SAFETY: as the caller promised us.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Starts counting (memory allocated before and freed after is counted as
/// a negative amount, so measure differences only).
pub fn count() {
    ON.store(true, Relaxed);
}

/// Bytes allocated and not freed since counting began.
pub fn in_use() -> isize {
    IN_USE.load(Relaxed)
}
