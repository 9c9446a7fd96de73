//! Reporting coroutine stack overflows.
//!
//! A stack overflow in a coroutine faults on the guard page of its stack.
//! Without help that is a bare `SIGSEGV`. corio installs a handler for
//! `SIGSEGV` and `SIGBUS` that runs on the thread's alternate signal stack,
//! checks whether the faulting address is the guard page of the coroutine
//! running on this thread, and if so prints which coroutine overflowed and
//! aborts. Any other fault goes to the handler that was installed before
//! (normally the standard library's, which reports thread stack overflows)
//! or, if there was none, to the default action.

use std::cell::Cell;
use std::ffi::{c_int, c_void};
use std::fmt::Write as _;
use std::num::NonZeroUsize;
use std::ptr::{self, NonNull};
use std::sync::{Once, OnceLock};

use nix::sys::mman::{mmap_anonymous, mprotect, munmap, MapFlags, ProtFlags};
use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

use super::frame;

static INSTALL: Once = Once::new();

/// Handlers that were installed before ours, set in `install` right after
/// ours replaced them.
static PREVIOUS_SEGV: OnceLock<SigAction> = OnceLock::new();
static PREVIOUS_BUS: OnceLock<SigAction> = OnceLock::new();

thread_local! {
    static ALT_STACK_READY: Cell<bool> = const { Cell::new(false) };
    static OWNED_ALT_STACK: AltStack = const { AltStack { base: Cell::new(None), len: Cell::new(0) } };
}

/// Makes sure stack overflows in coroutines on this thread are reported:
/// the handler is installed (once per process) and this thread has an
/// alternate signal stack to run it on.
#[inline]
pub(crate) fn ensure_handler() {
    if !ALT_STACK_READY.with(Cell::get) {
        setup_thread();
    }
}

#[cold]
fn setup_thread() {
    INSTALL.call_once(install);
    ensure_alt_stack();
    ALT_STACK_READY.with(|r| r.set(true));
}

fn install() {
    let action = SigAction::new(
        SigHandler::SigAction(on_fault),
        SaFlags::SA_SIGINFO | SaFlags::SA_ONSTACK,
        SigSet::empty(),
    );
    for (signal, slot) in [
        (Signal::SIGSEGV, &PREVIOUS_SEGV),
        (Signal::SIGBUS, &PREVIOUS_BUS),
    ] {
        // SAFETY: `on_fault` only does async-signal-safe work (atomic and
        // thread-local reads, formatting into a stack buffer, write(2),
        // sigaction(2), abort(3)) before it hands the signal on. The action
        // returned is whatever was installed before; like any chaining
        // handler we trust its installer to have given a valid function of
        // the kind its SA_SIGINFO flag says, which is how `on_fault` calls it.
        if let Ok(old) = unsafe { sigaction(signal, &action) } {
            let _ = slot.set(old);
        }
    }
}

/// An alternate signal stack that corio mapped for a thread that had none;
/// unmapped when the thread exits.
struct AltStack {
    /// Start of the mapping (its guard page), if corio made one.
    base: Cell<Option<NonNull<c_void>>>,
    len: Cell<usize>,
}

impl Drop for AltStack {
    fn drop(&mut self) {
        let Some(base) = self.base.get() else {
            return;
        };
        // libc: nix has no wrapper for sigaltstack.
        let disable = libc::stack_t {
            ss_sp: ptr::null_mut(),
            ss_flags: libc::SS_DISABLE,
            ss_size: 0,
        };
        // SAFETY: `disable` is a valid stack_t and a null old-stack pointer
        // asks for nothing back.
        unsafe { libc::sigaltstack(&disable, ptr::null_mut()) };
        // SAFETY: the alternate stack is disabled above, so the kernel never
        // delivers a signal onto the unmapped memory; `base` and `len`
        // describe the mapping made in `ensure_alt_stack`, which nothing
        // else refers to.
        let _ = unsafe { munmap(base, self.len.get()) };
    }
}

fn ensure_alt_stack() {
    // libc: nix has no wrapper for sigaltstack (nor for its stack_t).
    let mut current = libc::stack_t {
        ss_sp: ptr::null_mut(),
        ss_flags: 0,
        ss_size: 0,
    };
    // SAFETY: a null new-stack pointer only queries; `current` is a valid
    // out-pointer.
    unsafe { libc::sigaltstack(ptr::null(), &mut current) };
    if current.ss_flags & libc::SS_DISABLE == 0 {
        return; // The standard library (or the user) already set one up.
    }
    let page = crate::stack::page_size();
    // libc: nix has no SIGSTKSZ.
    let len = (libc::SIGSTKSZ.max(16 * 1024)).div_ceil(page) * page + page;
    let Some(nonzero_len) = NonZeroUsize::new(len) else {
        return;
    };
    // SAFETY: without an address hint the kernel places the mapping where
    // nothing else is mapped, so no existing memory is affected.
    let mapped = unsafe {
        mmap_anonymous(
            None,
            nonzero_len,
            ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
            MapFlags::MAP_PRIVATE | MapFlags::MAP_ANONYMOUS,
        )
    };
    let Ok(base) = mapped else {
        return; // Overflow reports degrade to a plain SIGSEGV.
    };
    // SAFETY: the first page of our fresh `len`-byte mapping becomes a guard
    // page; no Rust reference points into the mapping.
    let _ = unsafe { mprotect(base, page, ProtFlags::PROT_NONE) };
    let stack = libc::stack_t {
        // `len` is at least two pages: one page past `base` is still inside
        // the mapping.
        ss_sp: base.as_ptr().cast::<u8>().wrapping_add(page).cast(),
        ss_flags: 0,
        ss_size: len - page,
    };
    // libc: nix has no wrapper for sigaltstack.
    // SAFETY: `stack` describes the writable part of our mapping, which stays
    // mapped until `AltStack::drop` disables the alternate stack first.
    unsafe { libc::sigaltstack(&stack, ptr::null_mut()) };
    OWNED_ALT_STACK.with(|alt| {
        alt.base.set(Some(base));
        alt.len.set(len);
    });
}

/// Writes into a fixed buffer: formatting must not allocate in a signal
/// handler.
struct FixedBuf {
    buf: [u8; 512],
    len: usize,
}

impl std::fmt::Write for FixedBuf {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let n = s.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

// libc: nix has no types for an SA_SIGINFO handler's arguments (siginfo_t).
extern "C" fn on_fault(signal: c_int, info: *mut libc::siginfo_t, ctx: *mut c_void) {
    // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO handlers.
    let addr = unsafe { (*info).si_addr() } as usize;
    let frame = frame::current();
    if !frame.is_null() {
        // SAFETY: a non-null current frame lives at the top of the running
        // coroutine's stack, far from the guard page being hit, and stays
        // valid while that coroutine runs, which it does until we abort.
        let frame = unsafe { &*frame };
        let guard_end = frame.stack_limit + crate::stack::page_size();
        if addr >= frame.stack_limit && addr < guard_end {
            report_overflow(frame);
        }
    }
    let (signal_kind, previous) = if signal == Signal::SIGBUS as c_int {
        (Signal::SIGBUS, &PREVIOUS_BUS)
    } else {
        (Signal::SIGSEGV, &PREVIOUS_SEGV)
    };
    let Some(previous) = previous.get() else {
        // `install` has put our handler in place but not yet recorded the
        // one it replaced. Returning runs the faulting instruction again,
        // and by the time it faults anew the previous handler is known.
        return;
    };
    match previous.handler() {
        SigHandler::SigDfl | SigHandler::SigIgn => {
            // Restore the default action and return: the faulting
            // instruction runs again and the kernel terminates the process
            // as usual.
            let dfl = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
            // SAFETY: resetting a signal's disposition is async-signal-safe,
            // and the default action has no handler to vouch for.
            let _ = unsafe { sigaction(signal_kind, &dfl) };
        }
        // The previous handler was installed with SA_SIGINFO, so nix hands
        // it back with this signature.
        SigHandler::SigAction(handler) => handler(signal, info, ctx),
        SigHandler::Handler(handler) => handler(signal),
    }
}

fn report_overflow(frame: &frame::Frame) -> ! {
    let mut msg = FixedBuf {
        buf: [0; 512],
        len: 0,
    };
    let name = frame.name.as_deref().unwrap_or("<unnamed>");
    let _ = write!(
        msg,
        "\ncorio: coroutine '{name}' has overflowed its stack of {} bytes\n\
         corio: give it a larger stack with `Builder::stack_size` \
         (the default is {} bytes)\n",
        frame.stack_size,
        crate::stack::DEFAULT_STACK_SIZE,
    );
    // write(2) and abort(3) are async-signal-safe, and neither `stderr()`
    // (a handle to a static) nor the write allocates.
    let _ = nix::unistd::write(std::io::stderr(), &msg.buf[..msg.len]);
    std::process::abort();
}
