//! VU coroutine stacks, carved out of shared mappings.
//!
//! A stack of its own per VU with a guard page below it costs two kernel memory mappings (the
//! readable stack and the inaccessible guard), and a process may hold only `vm.max_map_count`
//! mappings (65,530 by default): about 30,000 guarded stacks, fewer than the VUs a machine
//! with enough open files can run. So stacks are allocated in slabs, one `mmap` for a batch:
//!
//! * while the process-wide budget allows, every stack in a slab gets its guard page (one
//!   `mprotect` per stack; the slab then counts two mappings per stack, as before);
//! * past the budget, a slab's stacks sit back to back in one read-write mapping with a single
//!   guard page under the lowest: two mappings per slab. A stack overflowing into its
//!   neighbour is then not caught by the MMU; what keeps a VU inside its stack is QuickJS' own
//!   stack limit, which every JS call and every recursive native (JSON, RegExp) checks, set
//!   [`STACK_RESERVE`](crate::runtime::STACK_RESERVE) above the stack's end for the native
//!   code that runs below JS. A warning says when VUs run without guard pages.
//!
//! Stacks of dropped VUs go back to their worker's free list and are reused by the next VU
//! created on that thread; slabs are unmapped when the thread's pool and every stack from them
//! are gone.

use std::cell::RefCell;
use std::io;
use std::num::NonZeroUsize;
use std::rc::Rc;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::OnceLock;

use corosensei::stack::valgrind::ValgrindStackRegistration;
use corosensei::stack::{Stack, StackPointer};

/// Each VU's stack. Only the pages a VU touches become resident.
pub(crate) const STACK_SIZE: usize = 512 * 1024;

/// The largest number of stacks one slab holds; slabs start at one stack and double up to
/// this, so a test with few VUs maps little.
const MAX_BATCH: usize = 64;

/// Mappings left for everything but guarded stacks: the heap, thread stacks, libraries.
const OTHER_MAPPINGS: isize = 16_384;

/// Overrides how many stacks may have guard pages (testing, and machines where the map count
/// cannot be read).
const BUDGET_ENV: &str = "STAMPEDE_GUARDED_STACKS";

/// A VU's stack: a range of a slab, returned to the thread's pool when dropped.
pub(crate) struct VuStack(Range);

/// `STACK_SIZE` bytes of a slab, free in the pool or in use by one [`VuStack`].
#[derive(Clone)]
struct Range {
    base: StackPointer,
    limit: StackPointer,
    /// Whether a guard page sits right below (the tests check the layout by it).
    #[cfg_attr(not(test), allow(dead_code))]
    guarded: bool,
    /// Keeps the mapping alive.
    _slab: Rc<Slab>,
}

// SAFETY: `base` and `limit` bound `STACK_SIZE` bytes of read-write memory, aligned to a page,
// owned by this value alone (the pool hands each range out once) and kept mapped by `slab`.
unsafe impl Stack for VuStack {
    fn base(&self) -> StackPointer {
        self.0.base
    }

    fn limit(&self) -> StackPointer {
        self.0.limit
    }
}

impl VuStack {
    /// Takes a stack from this thread's pool, mapping a new slab when none is free.
    pub(crate) fn new() -> io::Result<VuStack> {
        POOL.with(|p| p.borrow_mut().take())
    }
}

impl Drop for VuStack {
    fn drop(&mut self) {
        let range = self.0.clone();
        // During thread teardown the pool may be gone already; the slab unmaps itself.
        let _ = POOL.try_with(|p| p.borrow_mut().free.push(range));
    }
}

/// One mapping holding a batch of stacks.
struct Slab {
    addr: *mut libc::c_void,
    len: usize,
    _valgrind: ValgrindStackRegistration,
}

impl Drop for Slab {
    fn drop(&mut self) {
        // SAFETY: `addr..addr+len` is the mapping this slab made, and no stack from it is alive
        // (each holds an Rc of the slab).
        unsafe { libc::munmap(self.addr, self.len) };
    }
}

#[derive(Default)]
struct Pool {
    free: Vec<Range>,
    slabs: usize,
    stacks: usize,
}

thread_local! {
    static POOL: RefCell<Pool> = RefCell::default();
}

impl Pool {
    fn take(&mut self) -> io::Result<VuStack> {
        if self.free.is_empty() {
            let batch = self.stacks.clamp(1, MAX_BATCH);
            self.map_slab(batch)?;
        }
        Ok(VuStack(self.free.pop().expect("a slab was just mapped")))
    }

    fn map_slab(&mut self, batch: usize) -> io::Result<()> {
        let guarded = reserve_guards(batch);
        self.map_slab_with(batch, guarded).map(drop)
    }

    /// Maps `batch` stacks, `[guard][stack][guard][stack]...` when `guarded`, else
    /// `[guard][stack][stack]...`, and puts them on the free list.
    fn map_slab_with(&mut self, batch: usize, guarded: bool) -> io::Result<Rc<Slab>> {
        let page = page_size();
        let (stride, first, len) = if guarded {
            let stride = page + STACK_SIZE;
            (stride, page, stride * batch)
        } else {
            (STACK_SIZE, page, page + STACK_SIZE * batch)
        };
        // SAFETY: a fresh anonymous mapping; nothing else refers to it.
        let addr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if addr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let slab = Rc::new(Slab {
            addr,
            len,
            _valgrind: ValgrindStackRegistration::new(addr.cast(), len),
        });
        let low = |i: usize| addr as usize + first + i * stride;
        let writable = |from: usize, len: usize| {
            // SAFETY: `from..from+len` lies inside the slab mapped above.
            let r = unsafe {
                libc::mprotect(
                    from as *mut libc::c_void,
                    len,
                    libc::PROT_READ | libc::PROT_WRITE,
                )
            };
            if r == 0 {
                Ok(())
            } else {
                Err(io::Error::last_os_error())
            }
        };
        if guarded {
            for i in 0..batch {
                writable(low(i), STACK_SIZE)?;
            }
        } else {
            writable(low(0), STACK_SIZE * batch)?;
        }
        // Handed out lowest first (popped from the end).
        for i in (0..batch).rev() {
            self.free.push(Range {
                base: NonZeroUsize::new(low(i) + STACK_SIZE).expect("mapped address"),
                limit: NonZeroUsize::new(low(i)).expect("mapped address"),
                guarded,
                _slab: slab.clone(),
            });
        }
        self.slabs += 1;
        self.stacks += batch;
        Ok(slab)
    }
}

fn page_size() -> usize {
    static PAGE: OnceLock<usize> = OnceLock::new();
    // SAFETY: sysconf has no preconditions.
    *PAGE.get_or_init(|| unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize)
}

/// Stacks that may still get their own guard page, shared by every worker thread.
static GUARD_BUDGET: OnceLock<AtomicIsize> = OnceLock::new();

/// Takes `n` stacks from the guard budget; false (and a warning the first time) when the budget
/// cannot hold them.
fn reserve_guards(n: usize) -> bool {
    let budget = GUARD_BUDGET.get_or_init(|| AtomicIsize::new(initial_budget()));
    let n = n as isize;
    let before = budget.fetch_sub(n, Ordering::Relaxed);
    if before >= n {
        return true;
    }
    budget.fetch_add(n, Ordering::Relaxed);
    static WARNED: std::sync::Once = std::sync::Once::new();
    WARNED.call_once(|| {
        stampede_core::log(
                crate::LogLevel::Warning,
                "more VUs than the kernel's memory-map limit (vm.max_map_count) allows guard pages for: \
                 the stacks of further VUs share mappings without guard pages between them; JS recursion \
                 is still stopped by the stack limit (a RangeError), native code is not checked by the MMU",
                &[],
        );
    });
    false
}

fn initial_budget() -> isize {
    if let Some(n) = std::env::var(BUDGET_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<isize>().ok())
    {
        return n.max(0);
    }
    let max_maps = std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()
        .and_then(|s| s.trim().parse::<isize>().ok());
    let in_use = std::fs::read_to_string("/proc/self/maps")
        .map(|s| s.lines().count() as isize)
        .unwrap_or(0);
    match max_maps {
        // Two mappings per guarded stack.
        Some(max) => ((max - in_use - OTHER_MAPPINGS) / 2).max(0),
        // Not Linux, or no /proc: guard every stack, as corosensei's own stacks do.
        None => isize::MAX,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kernel's mappings that overlap `slab`.
    fn mappings_of(slab: &Slab) -> usize {
        let (lo, hi) = (slab.addr as usize, slab.addr as usize + slab.len);
        std::fs::read_to_string("/proc/self/maps")
            .unwrap()
            .lines()
            .filter(|l| {
                let range = l.split_whitespace().next().unwrap();
                let (a, b) = range.split_once('-').unwrap();
                let a = usize::from_str_radix(a, 16).unwrap();
                let b = usize::from_str_radix(b, 16).unwrap();
                a < hi && b > lo
            })
            .count()
    }

    #[test]
    fn stacks_are_disjoint_writable_and_reused() {
        // Each test runs on its own thread, so this pool is the test's own.
        let stacks: Vec<VuStack> = (0..10).map(|_| VuStack::new().unwrap()).collect();
        let mut ranges: Vec<(usize, usize)> = stacks
            .iter()
            .map(|s| (s.limit().get(), s.base().get()))
            .collect();
        ranges.sort();
        for w in ranges.windows(2) {
            assert!(w[0].1 <= w[1].0, "stacks overlap: {w:?}");
        }
        for s in &stacks {
            assert_eq!(s.base().get() - s.limit().get(), STACK_SIZE);
            assert_eq!(s.limit().get() % page_size(), 0);
            // SAFETY: both ends lie inside the stack, which nothing runs on.
            unsafe {
                std::ptr::write_volatile(s.limit().get() as *mut u8, 1);
                std::ptr::write_volatile((s.base().get() - 1) as *mut u8, 1);
            }
        }
        // Slabs of 1, 1, 2, 4 and 8 stacks for ten stacks.
        assert_eq!(POOL.with(|p| p.borrow().slabs), 5);
        drop(stacks);
        let again = VuStack::new().unwrap();
        assert_eq!(
            POOL.with(|p| p.borrow().slabs),
            5,
            "a freed stack is reused"
        );
        assert!(ranges.iter().any(|r| r.0 == again.limit().get()));
    }

    #[test]
    fn unguarded_stacks_share_one_mapping() {
        let mut pool = Pool::default();
        let batch = 32;
        let unguarded = pool.map_slab_with(batch, false).unwrap();
        // The guard page and the stacks: two mappings for 32 stacks.
        assert_eq!(mappings_of(&unguarded), 2);
        let guarded = pool.map_slab_with(batch, true).unwrap();
        assert_eq!(mappings_of(&guarded), 2 * batch);
        assert_eq!(pool.free.iter().filter(|f| f.guarded).count(), batch);
        assert_eq!(pool.free.len(), 2 * batch);
    }
}
