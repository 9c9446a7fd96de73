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
use std::fmt::Write as _;
use std::ptr;
use std::sync::{Once, OnceLock};

use super::frame;

static INSTALL: Once = Once::new();

/// Handlers that were installed before ours, set once in `install` before
/// our handler can run.
static PREVIOUS_SEGV: OnceLock<libc::sigaction> = OnceLock::new();
static PREVIOUS_BUS: OnceLock<libc::sigaction> = OnceLock::new();

thread_local! {
    static ALT_STACK_READY: Cell<bool> = const { Cell::new(false) };
    static OWNED_ALT_STACK: AltStack = const { AltStack { base: Cell::new(ptr::null_mut()), len: Cell::new(0) } };
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
    for (signal, slot) in [
        (libc::SIGSEGV, &PREVIOUS_SEGV),
        (libc::SIGBUS, &PREVIOUS_BUS),
    ] {
        // SAFETY: zeroed sigaction structs are valid values to fill in, and
        // `on_fault` has the signature SA_SIGINFO expects.
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            libc::sigaction(signal, ptr::null(), &mut old);
            let _ = slot.set(old);
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_fault as *const () as usize;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, ptr::null_mut());
        }
    }
}

/// An alternate signal stack that corio mapped for a thread that had none;
/// unmapped when the thread exits.
struct AltStack {
    base: Cell<*mut libc::c_void>,
    len: Cell<usize>,
}

impl Drop for AltStack {
    fn drop(&mut self) {
        let base = self.base.get();
        if base.is_null() {
            return;
        }
        // SAFETY: we disable the alternate stack before unmapping it, so the
        // kernel never delivers a signal onto unmapped memory; `base` and
        // `len` describe the mapping made in `ensure_alt_stack`.
        unsafe {
            let disable = libc::stack_t {
                ss_sp: ptr::null_mut(),
                ss_flags: libc::SS_DISABLE,
                ss_size: 0,
            };
            libc::sigaltstack(&disable, ptr::null_mut());
            libc::munmap(base, self.len.get());
        }
    }
}

fn ensure_alt_stack() {
    // SAFETY: querying the current alternate stack has no preconditions.
    let mut current: libc::stack_t = unsafe { std::mem::zeroed() };
    // SAFETY: `current` is a valid out-pointer.
    unsafe { libc::sigaltstack(ptr::null(), &mut current) };
    if current.ss_flags & libc::SS_DISABLE == 0 {
        return; // The standard library (or the user) already set one up.
    }
    let page = crate::stack::page_size();
    let len = (libc::SIGSTKSZ.max(16 * 1024)).div_ceil(page) * page + page;
    // SAFETY: an anonymous private mapping has no preconditions.
    let base = unsafe {
        libc::mmap(
            ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if base == libc::MAP_FAILED {
        return; // Overflow reports degrade to a plain SIGSEGV.
    }
    // SAFETY: `base` is the start of our `len`-byte mapping; the first page
    // becomes a guard page, the rest is handed to the kernel as the stack.
    unsafe {
        libc::mprotect(base, page, libc::PROT_NONE);
        let stack = libc::stack_t {
            ss_sp: base.cast::<u8>().add(page).cast(),
            ss_flags: 0,
            ss_size: len - page,
        };
        libc::sigaltstack(&stack, ptr::null_mut());
    }
    OWNED_ALT_STACK.with(|alt| {
        alt.base.set(base);
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

extern "C" fn on_fault(signal: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
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
    let previous = if signal == libc::SIGBUS {
        &PREVIOUS_BUS
    } else {
        &PREVIOUS_SEGV
    };
    let Some(previous) = previous.get() else {
        return;
    };
    let handler = previous.sa_sigaction;
    if handler == libc::SIG_DFL || handler == libc::SIG_IGN {
        // Restore the default action and return: the faulting instruction
        // runs again and the kernel terminates the process as usual.
        // SAFETY: resetting a signal's disposition is async-signal-safe.
        unsafe {
            let mut dfl: libc::sigaction = std::mem::zeroed();
            dfl.sa_sigaction = libc::SIG_DFL;
            libc::sigaction(signal, &dfl, ptr::null_mut());
        }
    } else if previous.sa_flags & libc::SA_SIGINFO != 0 {
        // SAFETY: the previous handler was installed with SA_SIGINFO, so it
        // has this signature.
        let handler: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
            unsafe { std::mem::transmute(handler) };
        handler(signal, info, ctx);
    } else {
        // SAFETY: without SA_SIGINFO the handler takes the signal number.
        let handler: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(handler) };
        handler(signal);
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
    // SAFETY: write(2) and abort(3) are async-signal-safe; the buffer is
    // valid for `len` bytes.
    unsafe {
        libc::write(2, msg.buf.as_ptr().cast(), msg.len);
        libc::abort();
    }
}
