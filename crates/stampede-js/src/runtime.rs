//! A QuickJS runtime shared by up to 256 VUs of a worker thread (each VU has its own context;
//! see `VUS_PER_RUNTIME` for why not all of the worker's VUs).
//!
//! A runtime alone costs ~115 KiB and ~0.4 ms to create (its atom table, shapes and class
//! tables); a context in an existing runtime ~57 KiB and ~0.16 ms (measured with 5,000 of each).
//! Sharing it is what lets thousands of VUs start fast and fit in memory, but four things in
//! QuickJS are per runtime and the VUs take turns on them:
//!
//! * the stack limit: every VU runs on its own coroutine stack, so [`SharedRuntime::enter`]
//!   points the limit at the stack of the VU about to run, each time its coroutine resumes;
//! * the interrupt handler: it reads the interrupted flag and the deadline of the VU that
//!   entered last (a VU spinning in a loop that calls no native cannot be stopped otherwise:
//!   the worker's thread is busy running it);
//! * the promise job queue: a VU only ever runs jobs of its own context ([`drain_own_jobs`]); if
//!   another VU's job is first in the queue (that VU suspended with jobs pending), the VU waits
//!   for [`SharedRuntime::drained`] instead of running it on the wrong stack;
//! * the current JS stack frame: QuickJS links each call's frame to the runtime's current one,
//!   so a VU that suspends inside a native leaves its frames there. Each VU saves the runtime's
//!   frame pointer when it suspends and puts its own back when it resumes ([`VuFrame`]), so the
//!   chain a backtrace walks is always the running VU's own. QuickJS has no API for this field:
//!   its place in the runtime is found and checked when the runtime is created
//!   ([`locate_frame_slot`]); if the check fails (another QuickJS build), every VU gets a
//!   runtime of its own instead, as before sharing.
//!
//! Nothing here takes rquickjs' runtime lock (`Context::with`): a VU suspends in the middle of
//! its JavaScript, and another VU's code must be able to run meanwhile. Contexts are reached
//! with `Ctx::from_raw`, which is sound because each VU only touches its own context, on its own
//! coroutine, and everything runs on the worker's single thread.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use rquickjs::allocator::{Allocator, RustAllocator};
use rquickjs::{qjs, Context, Ctx, Runtime};

use crate::loader::{ScriptLoader, ScriptResolver};
use crate::TestContext;

/// Head room QuickJS leaves below its own stack limit for Rust frames (natives, hyper glue).
pub(crate) const STACK_RESERVE: usize = 96 * 1024;

pub(crate) struct SharedRuntime {
    pub(crate) rt: Runtime,
    ptr: *mut qjs::JSRuntime,
    /// The interrupted flag and iteration deadline of the VU whose code runs now.
    current: Rc<RefCell<Current>>,
    /// Signalled after a VU ran promise jobs: VUs whose own jobs queue behind another VU's
    /// wait for it.
    pub(crate) drained: tokio::sync::Notify,
    /// Byte offset of `JSRuntime.current_stack_frame`; `None`: not found, do not share.
    frame_slot: Option<usize>,
    /// Bytes the runtime holds from the allocator (see [`CountingAllocator`]).
    heap: Rc<Cell<usize>>,
    /// Keeps the runtime pointer valid; also the context nothing else uses.
    _anchor: Context,
}

/// rquickjs' allocator, keeping count of the bytes it hands out. QuickJS counts too, but only
/// tells through `JS_ComputeMemoryUsage`, which walks every object, shape and function of every
/// context: with 10,000 VUs that walk was ~6% of their start-up. QuickJS carves its small
/// blocks out of larger arenas it allocates here, so this count includes the arenas' free
/// slots; close enough for a GC threshold.
struct CountingAllocator {
    inner: RustAllocator,
    heap: Rc<Cell<usize>>,
}

// SAFETY: every call is forwarded to `RustAllocator`, which upholds the contract; the count
// only reads sizes of live blocks.
unsafe impl Allocator for CountingAllocator {
    fn alloc(&mut self, size: usize) -> *mut u8 {
        let p = self.inner.alloc(size);
        self.counted(p)
    }

    fn calloc(&mut self, count: usize, size: usize) -> *mut u8 {
        let p = self.inner.calloc(count, size);
        self.counted(p)
    }

    unsafe fn dealloc(&mut self, ptr: *mut u8) {
        // SAFETY: `ptr` is a live block of this allocator (the caller's contract).
        self.heap
            .set(self.heap.get() - unsafe { RustAllocator::usable_size(ptr) });
        // SAFETY: as above.
        unsafe { self.inner.dealloc(ptr) }
    }

    unsafe fn realloc(&mut self, ptr: *mut u8, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` is a live block of this allocator (the caller's contract).
        let old = unsafe { RustAllocator::usable_size(ptr) };
        // SAFETY: as above.
        let p = unsafe { self.inner.realloc(ptr, new_size) };
        if !p.is_null() {
            self.heap.set(self.heap.get() - old);
        }
        self.counted(p)
    }

    unsafe fn usable_size(ptr: *mut u8) -> usize {
        // SAFETY: forwarded with the caller's contract.
        unsafe { RustAllocator::usable_size(ptr) }
    }
}

impl CountingAllocator {
    fn counted(&self, p: *mut u8) -> *mut u8 {
        if !p.is_null() {
            // SAFETY: `p` was just returned by `RustAllocator`.
            self.heap
                .set(self.heap.get() + unsafe { RustAllocator::usable_size(p) });
        }
        p
    }
}

/// A VU's saved `current_stack_frame` while it is suspended.
#[derive(Default)]
pub(crate) struct VuFrame(Cell<usize>);

impl SharedRuntime {
    pub(crate) fn new(test: &Arc<TestContext>) -> rquickjs::Result<SharedRuntime> {
        let heap = Rc::new(Cell::new(0));
        let rt = Runtime::new_with_alloc(CountingAllocator {
            inner: RustAllocator,
            heap: heap.clone(),
        })?;
        rt.set_loader(ScriptResolver, ScriptLoader { test: test.clone() });
        let current = Rc::new(RefCell::new(Current::default()));
        let now_running = current.clone();
        rt.set_interrupt_handler(Some(Box::new(move || {
            let cur = now_running.borrow();
            if !cur.interrupted.get() && cur.deadline.get().is_some_and(|d| Instant::now() >= d) {
                cur.interrupted.set(true);
            }
            cur.interrupted.get()
        })));
        let anchor = Context::base(&rt)?;
        // SAFETY: the context is alive; JS_GetRuntime only reads it.
        let ptr = unsafe { qjs::JS_GetRuntime(anchor.as_raw().as_ptr()) };
        // SAFETY: a fresh runtime, no JS running, this thread only.
        let frame_slot = unsafe { locate_frame_slot(ptr, &anchor) };
        if frame_slot.is_some() {
            // No automatic GC while the VUs start: with thousands of contexts the heap grows by
            // half again many times, and each collection walks all of it. `started` turns it
            // on. (A runtime of one VU's own keeps QuickJS' default.)
            rt.set_gc_threshold(usize::MAX);
        }
        Ok(SharedRuntime {
            rt,
            ptr,
            current,
            drained: tokio::sync::Notify::new(),
            frame_slot,
            heap,
            _anchor: anchor,
        })
    }

    /// Whether VUs can share this runtime (its frame pointer was found).
    pub(crate) fn shareable(&self) -> bool {
        self.frame_slot.is_some()
    }

    /// Saves the running VU's frame pointer before it suspends.
    pub(crate) fn leave(&self, frame: &VuFrame) {
        if let Some(off) = self.frame_slot {
            // SAFETY: `off` was located and checked in `locate_frame_slot`; single thread.
            frame
                .0
                .set(unsafe { std::ptr::read((self.ptr as *const u8).add(off) as *const usize) });
        }
    }

    /// The initial VUs are running: collect garbage again once the heap grows by half.
    pub(crate) fn started(&self) {
        let used = self.heap.get();
        self.rt.set_gc_threshold((used + used / 2).max(256 * 1024));
    }

    #[cfg(test)]
    pub(crate) fn gc_threshold(&self) -> usize {
        // SAFETY: the runtime is alive; a plain read.
        unsafe { qjs::JS_GetGCThreshold(self.ptr) as usize }
    }

    /// Points the runtime at the VU about to run: its stack (lowest usable address
    /// `stack_limit`) and its interrupted flag. Must run on that VU's stack before any QuickJS
    /// call, every time its coroutine starts or resumes.
    pub(crate) fn enter(
        &self,
        stack_limit: usize,
        frame: &VuFrame,
        interrupted: &Rc<Cell<bool>>,
        deadline: &Rc<Cell<Option<Instant>>>,
    ) {
        if let Some(off) = self.frame_slot {
            // SAFETY: as in `leave`.
            unsafe { std::ptr::write((self.ptr as *mut u8).add(off) as *mut usize, frame.0.get()) };
        }
        if !Rc::ptr_eq(&self.current.borrow().interrupted, interrupted) {
            *self.current.borrow_mut() = Current {
                interrupted: interrupted.clone(),
                deadline: deadline.clone(),
            };
        }
        let marker = 0u8;
        let here = std::hint::black_box(&marker) as *const u8 as usize;
        // The C frame of JS_UpdateStackTop sits a little below `here`: a few hundred bytes
        // of the reserve, which is 96 KiB.
        let size = here.saturating_sub(stack_limit + STACK_RESERVE).max(1);
        // SAFETY: the runtime is alive (self owns it) and only used on this thread.
        unsafe {
            qjs::JS_UpdateStackTop(self.ptr);
            qjs::JS_SetMaxStackSize(self.ptr, size as _);
        }
    }

    /// The context of the first job in the promise queue, if any.
    fn first_job_context(&self) -> Option<*mut qjs::JSContext> {
        // SAFETY: runtime alive, single thread.
        unsafe { qjs::JS_IsJobPending(self.ptr).then(|| qjs::JS_GetPendingJobContext(self.ptr)) }
    }

    /// Whether the first job in the queue belongs to another context than `ctx`.
    pub(crate) fn foreign_job_first(&self, ctx: &Ctx<'_>) -> bool {
        self.first_job_context()
            .is_some_and(|first| first != ctx.as_raw().as_ptr())
    }
}

/// Finds `JSRuntime.current_stack_frame`. In the pinned QuickJS-ng source it follows
/// `stack_size`, `stack_top`, `stack_limit` (3 words), `current_exception` (16 bytes) and three
/// bools (padded to a word): 48 bytes after `stack_size`. `stack_size` is found by setting two
/// marker values through the API; the three stack words and the frame pointer are then checked
/// against what the API and a native call made from Rust show. Any mismatch: `None`.
///
/// # Safety
/// `rt` is a live runtime with no JavaScript running, used only on this thread.
unsafe fn locate_frame_slot(rt: *mut qjs::JSRuntime, anchor: &Context) -> Option<usize> {
    // The fields sit about 1.1 KiB into the runtime, which is larger than this.
    const SCAN: usize = 1536;
    const MARK_A: u64 = 0x5354_4d50_4544_4501;
    const MARK_B: u64 = 0x5354_4d50_4544_4502;
    let base = rt as *const u8;
    let word = |off: usize| unsafe { std::ptr::read_unaligned(base.add(off) as *const u64) };
    unsafe { qjs::JS_SetMaxStackSize(rt, MARK_A as _) };
    let size_off = (0..SCAN).step_by(8).find(|&off| word(off) == MARK_A)?;
    unsafe {
        qjs::JS_SetMaxStackSize(rt, MARK_B as _);
        qjs::JS_UpdateStackTop(rt);
    }
    let marker = 0u8;
    let here = std::hint::black_box(&marker) as *const u8 as u64;
    let top = word(size_off + 8);
    let ok = word(size_off) == MARK_B
        && top.abs_diff(here) < 64 * 1024
        && word(size_off + 16) == top.wrapping_sub(MARK_B);
    unsafe { qjs::JS_SetMaxStackSize(rt, 0) };
    let slot = size_off + 48;
    if !ok || word(slot) != 0 {
        return None;
    }
    // Inside a call the slot must point into this very stack, and be cleared after it. (A
    // built-in's call pushes a frame; rquickjs' functions do not: `[0].forEach(probe)`.)
    let seen = Rc::new(Cell::new(0u64));
    let probe = seen.clone();
    // SAFETY: the anchor context, this thread, nothing else running.
    let ctx = unsafe { Ctx::from_raw(anchor.as_raw()) };
    let f = rquickjs::Function::new(ctx.clone(), move || {
        probe.set(unsafe { std::ptr::read_unaligned(base.add(slot) as *const u64) })
    })
    .ok()?;
    let list = rquickjs::Array::new(ctx).ok()?;
    list.set(0, 0).ok()?;
    let for_each: rquickjs::Function<'_> = list.as_object().get("forEach").ok()?;
    for_each
        .call::<_, ()>((rquickjs::function::This(list), f))
        .ok()?;
    let inside = seen.get();
    (inside != 0 && inside.abs_diff(here) < 64 * 1024 && word(slot) == 0).then_some(slot)
}

/// What the interrupt handler reads: the running VU's flag and the end of its iteration.
#[derive(Default)]
struct Current {
    interrupted: Rc<Cell<bool>>,
    deadline: Rc<Cell<Option<Instant>>>,
}

/// Runs the promise jobs of `ctx` at the head of the queue; stops at another context's job.
/// Returns whether any ran.
pub(crate) fn drain_own_jobs(js: &SharedRuntime, ctx: &Ctx<'_>) -> bool {
    let me = ctx.as_raw().as_ptr();
    let mut ran = false;
    while js.first_job_context() == Some(me) {
        // SAFETY: runtime alive, single thread; the job runs in `ctx`, on this VU's stack.
        unsafe {
            let mut ran_in: *mut qjs::JSContext = std::ptr::null_mut();
            if qjs::JS_ExecutePendingJob(js.ptr, &mut ran_in) < 0 {
                // A job that threw leaves its exception pending: clear it (an unhandled
                // rejection, as in k6, is not an error of the iteration).
                let _ = ctx.catch();
            }
        }
        ran = true;
    }
    if ran {
        js.drained.notify_waiters();
    }
    ran
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counting_allocator_follows_what_quickjs_holds() {
        let heap = Rc::new(Cell::new(0));
        let rt = Runtime::new_with_alloc(CountingAllocator {
            inner: RustAllocator,
            heap: heap.clone(),
        })
        .unwrap();
        let ctx = Context::full(&rt).unwrap();
        let idle = heap.get();
        let quickjs = rt.memory_usage().malloc_size as usize;
        assert!(
            idle > quickjs / 2 && idle < quickjs * 2,
            "counted {idle}, QuickJS {quickjs}"
        );
        ctx.with(|ctx| {
            ctx.eval::<(), _>("globalThis.big = 'x'.repeat(1 << 20) + 'y';")
                .unwrap()
        });
        assert!(
            heap.get() >= idle + (1 << 20),
            "a 1 MiB string: {} -> {}",
            idle,
            heap.get()
        );
        ctx.with(|ctx| ctx.eval::<(), _>("delete globalThis.big;").unwrap());
        rt.run_gc();
        assert!(
            heap.get() < idle + (1 << 20),
            "freed: {} -> {}",
            idle,
            heap.get()
        );
        drop(ctx);
        drop(rt);
        assert_eq!(
            heap.get(),
            0,
            "everything returned when the runtime is gone"
        );
    }
}
