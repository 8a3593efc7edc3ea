// SPDX-License-Identifier: MIT
//! The Tokio peer of the libfut benchmarks: every workload of
//! bench/WORKLOADS.md on Tokio's `current_thread` runtime, one binary.
//!
//!     b_tokio WORKLOAD MODE N [M]
//!     b_tokio echo-server PORT
//!
//! prints `b_tokio.<workload> <mode> n=<N> m=<M> ns/op=<float>` (mem:
//! `bytes/task=` and `rss/task=` instead) and exits 1 when the work was not
//! done right, 2 on a malformed command line. The modes that only libfut
//! and libev have (timer early|mid|late, drop's poll_drop paths) and any
//! unknown workload or mode exit 3 with "unsupported" on stderr.
//!
//! The runtime is `Builder::new_current_thread().enable_all()`, built
//! before the clock starts and dropped after it stopped; the measured
//! section runs inside `block_on` and is timed with `Instant`. Tasks are
//! `tokio::spawn`ed (so their futures are `Send`: shared state is `Arc` and
//! atomics with `Relaxed` loads and stores, plain moves on x86, never a
//! read-modify-write). The comment at the top of each workload says what it
//! does and why it is the honest equivalent of the libfut program.
//!
//! B10 (coordination: `sync sem|notify`, `chan stream|pingpong`, `process
//! spawn`) uses `tokio::sync::{Semaphore, Notify, mpsc}` and
//! `tokio::process` (feature `process`).
//!
//! Written for the Rust and Tokio that Debian bookworm ships (rustc 1.63,
//! tokio 1.24.2): no `std::future::poll_fn`, `std::pin::pin!` or
//! `let ... else`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;
use std::future::Future;
use std::io::{self, Write};
use std::os::unix::io::{AsRawFd, RawFd};
use std::pin::Pin;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncReadExt, AsyncWriteExt, Interest};
use tokio::runtime::Runtime;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::{sleep, timeout, Sleep};

const PROG: &str = "b_tokio";
const WORKLOADS: &str = "spawn all|batch N [M]; wake hop N [M] | \
    wake select|select_hand N [K]; yield one N | yield many N [M]; timer fifo|lifo N [M] | \
    timer spread N M | timer fire|timeout_ready|timeout_hand N; fdhop pipe N; drop timer|io|join N; \
    mem idle|timer|socket N; sync sem|notify N; chan stream|pingpong N; process spawn N; \
    echo-server PORT";
const BATCH: usize = 256;
/// The contract's "never": 1e9 s (Tokio's wheel caps it at its ~2-year
/// horizon internally, which changes nothing here).
const FAR: Duration = Duration::from_secs(1_000_000_000);

// ---------------------------------------------------------------------------
// Plumbing

struct Args {
    workload: String,
    mode: String,
    n: u64,
    m: u64,
}

fn usage() -> ! {
    eprintln!("usage: {} WORKLOAD MODE N [M]\n  {}", PROG, WORKLOADS);
    std::process::exit(2);
}

fn unsupported(a: &Args, why: &str) -> ! {
    eprintln!("{} {} {}: unsupported: {}", PROG, a.workload, a.mode, why);
    std::process::exit(3);
}

/// A workload or mode this program does not know: the contract's exit 3
/// (the runner shows '-'), after the usage.
fn unknown(a: &Args) -> ! {
    eprintln!("usage: {} WORKLOAD MODE N [M]\n  {}", PROG, WORKLOADS);
    unsupported(a, "no such workload or mode here")
}

/// Aborts the run: the benchmark did not do the work it claims.
macro_rules! check {
    ($c:expr) => {
        if !$c {
            eprintln!("{}:{}: check failed: {}", file!(), line!(), stringify!($c));
            std::process::exit(1);
        }
    };
}

/// Accepts 1e6 as well as 1000000 (as bench.h does).
fn parse_num(s: &str) -> u64 {
    match s.parse::<f64>() {
        Ok(d) if d.is_finite() && (0.0..=1e12).contains(&d) => d as u64,
        _ => usage(),
    }
}

fn report(a: &Args, el: Duration, ops: f64) {
    println!(
        "{}.{} {} n={} m={} ns/op={:.2}",
        PROG,
        a.workload,
        a.mode,
        a.n,
        a.m,
        el.as_secs_f64() * 1e9 / ops
    );
    io::stdout().flush().ok();
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// `std::future::poll_fn`, which is younger than rustc 1.63.
struct PollFn<F>(F);

impl<T, F: FnMut(&mut Context<'_>) -> Poll<T> + Unpin> Future for PollFn<F> {
    type Output = T;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        (self.0)(cx)
    }
}

fn poll_fn<T, F: FnMut(&mut Context<'_>) -> Poll<T> + Unpin>(f: F) -> PollFn<F> {
    PollFn(f)
}

/// Tasks count themselves here right before they park (their first poll
/// then completes in the same call, parking them for real); setup waits on
/// it, outside the clock. A static, so that it adds nothing to the tasks.
static PARKED: AtomicU64 = AtomicU64::new(0);

fn parked_inc() {
    PARKED.store(PARKED.load(Relaxed) + 1, Relaxed);
}

/// Yields (outside the clock) until `k` tasks parked since `base`.
async fn wait_parked(base: u64, k: u64) {
    while PARKED.load(Relaxed) - base < k {
        tokio::task::yield_now().await;
    }
}

/// An fd for AsyncFd that the benchmark closes itself (AsyncFd never
/// closes anything; dropping it deregisters the fd from epoll).
struct Fd(RawFd);

impl AsRawFd for Fd {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

fn pipe() -> [RawFd; 2] {
    let mut p = [-1; 2];
    check!(unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) } == 0);
    p
}

// ---------------------------------------------------------------------------
// Allocation counting for mem (the global allocator; counts only when on)

struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static LIVE: AtomicI64 = AtomicI64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = System.alloc(l);
        if !p.is_null() && COUNTING.load(Relaxed) {
            LIVE.fetch_add(l.size() as i64, Relaxed);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(l);
        if !p.is_null() && COUNTING.load(Relaxed) {
            LIVE.fetch_add(l.size() as i64, Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        if COUNTING.load(Relaxed) {
            LIVE.fetch_sub(l.size() as i64, Relaxed);
        }
        System.dealloc(p, l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let q = System.realloc(p, l, new);
        if !q.is_null() && COUNTING.load(Relaxed) {
            LIVE.fetch_add(new as i64 - l.size() as i64, Relaxed);
        }
        q
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Resident set size in bytes, from /proc/self/statm.
fn rss() -> i64 {
    let s = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: i64 = s
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(-1);
    pages * unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as i64
}

// ---------------------------------------------------------------------------
// B1 spawn all|batch: `tokio::spawn` of N tasks whose future is ready at its
// first poll (`async { 7 }`), each with its JoinHandle, then the handles
// awaited in order and their output (7) checked; batch: in rounds of 256.
// M > 1 repeats the whole M times (warm; ns/op over N * M), as libfut does.
// Exactly libfut's FUT_SPAWN + join handles + a join-all in order: Tokio's
// task allocation, run queue, one poll, completion, the joiner's wake, the
// JoinHandle's poll and drop, the free. The handles' Vec is allocated
// before the clock starts (libfut's join array is, too). Awaiting many
// ready handles in one poll runs into Tokio's cooperative budget (a yield
// every 128): that is Tokio's behaviour and is measured.

fn w_spawn(a: &Args) {
    let batch = match a.mode.as_str() {
        "all" => false,
        "batch" => true,
        _ => unknown(a),
    };
    let n = a.n as usize;
    let rounds = a.m.max(1);
    let cap = if batch { BATCH.min(n) } else { n };
    let el = runtime().block_on(async move {
        let mut hs: Vec<JoinHandle<u64>> = Vec::with_capacity(cap);
        let t0 = Instant::now();
        for _ in 0..rounds {
            let mut done = 0;
            while done < n {
                let k = cap.min(n - done);
                for _ in 0..k {
                    hs.push(tokio::spawn(async { 7u64 }));
                }
                for h in hs.drain(..) {
                    check!(h.await.ok() == Some(7));
                }
                done += k;
            }
        }
        t0.elapsed()
    });
    report(a, el, (a.n * rounds) as f64);
}

// ---------------------------------------------------------------------------
// B2 wake hop: two spawned tasks pass a token; each has a
// `tokio::sync::Notify`. The holder gives the token away,
// `notify_one()`s the other and awaits its own `notified()`. Notify is
// Tokio's primitive for "wake that task" (one waiter list and a stored
// permit, so no wake is lost); a hop is one notify_one (waking the waiting
// task: a run-queue push) plus one poll of the woken task, which registers
// a fresh Notified: libfut's hop is a waker wake plus a poll. ns/op per
// hop; the two spawns and joins are inside the clock, as in libfut. M > 1
// makes it N * M hops.
//
// B2 wake select K (K = M, default 8): the selector task waits on K
// children, each a `Notified` of its own Notify (a future pending on its
// own notify); the waker task `notify_one()`s child r % K, then awaits the
// selector's acknowledgement (its own Notify) before the next round, so a
// round is: wake the child, the select returns its index (checked), the
// select is re-armed, ack the waker: two wakes, two task polls.
//   select       as libfut's `select` (a fut_select over K fresh children
//                each round): K = 2 and 8 use `tokio::select!` with K
//                explicit arms in a loop, what Tokio code looks like (the
//                macro needs a fixed arity; its default: random start, the
//                first ready branch wins): K fresh Notified futures armed
//                each round, the K - 1 losers dropped (unlinked from their
//                lists) with the winner. Printed `select=macro`. Any other
//                K: the same by hand (select! stops at 64 arms): K fresh
//                Notified futures in a Vec (pinned in place: capacity K,
//                never moved), polled in order until one is ready, then all
//                dropped in place. Printed `select=vec`.
//   select_hand  as libfut's hand-made select that keeps its children (the
//                shape of futures' select_all, which Debian's Tokio does
//                not pull in): the K Notified futures stay armed in the
//                Vec across rounds, are polled in order until one is ready,
//                and only the winner is re-armed (dropped and replaced in
//                place).

struct Court {
    n: u64,
    hops: AtomicU64,
    token: AtomicU64,
    spurious: AtomicU64,
    notify: [Notify; 2],
}

async fn player(c: Arc<Court>, me: usize) {
    let other = 1 - me;
    loop {
        let hops = c.hops.load(Relaxed);
        if hops >= c.n {
            c.notify[other].notify_one(); // let the other one finish too
            return;
        }
        if c.token.load(Relaxed) == me as u64 {
            c.token.store(other as u64, Relaxed);
            c.hops.store(hops + 1, Relaxed);
            c.notify[other].notify_one();
        } else {
            c.spurious.store(c.spurious.load(Relaxed) + 1, Relaxed);
        }
        c.notify[me].notified().await;
    }
}

struct Select {
    n: u64,
    children: Vec<Notify>,
    ack: Notify,
}

async fn select2(ch: &[Notify]) -> usize {
    tokio::select! {
        _ = ch[0].notified() => 0,
        _ = ch[1].notified() => 1,
    }
}

async fn select8(ch: &[Notify]) -> usize {
    tokio::select! {
        _ = ch[0].notified() => 0,
        _ = ch[1].notified() => 1,
        _ = ch[2].notified() => 2,
        _ = ch[3].notified() => 3,
        _ = ch[4].notified() => 4,
        _ = ch[5].notified() => 5,
        _ = ch[6].notified() => 6,
        _ = ch[7].notified() => 7,
    }
}

/// Polls the pinned children in order; the index of the first ready one.
fn poll_children(
    futs: &mut Vec<tokio::sync::futures::Notified<'_>>,
    cx: &mut Context<'_>,
) -> Poll<usize> {
    for (i, f) in futs.iter_mut().enumerate() {
        // Safety: the Vec never grows past its capacity K: its elements
        // never move; they are only dropped (or replaced) in place.
        if unsafe { Pin::new_unchecked(f) }.poll(cx).is_ready() {
            return Poll::Ready(i);
        }
    }
    Poll::Pending
}

async fn selector(s: Arc<Select>, hand: bool) -> Vec<u64> {
    let k = s.children.len();
    let mut wins = vec![0u64; k];
    let mut futs = Vec::with_capacity(k);
    if hand {
        for c in s.children.iter() {
            futs.push(c.notified());
        }
    }
    for r in 0..s.n {
        let idx = if hand {
            let idx = poll_fn(|cx| poll_children(&mut futs, cx)).await;
            unsafe {
                let p = futs.as_mut_ptr().add(idx);
                ptr::drop_in_place(p);
                ptr::write(p, s.children[idx].notified());
            }
            idx
        } else if k == 2 {
            select2(&s.children).await
        } else if k == 8 {
            select8(&s.children).await
        } else {
            for c in s.children.iter() {
                futs.push(c.notified());
            }
            let idx = poll_fn(|cx| poll_children(&mut futs, cx)).await;
            futs.clear();
            idx
        };
        check!(idx as u64 == r % k as u64);
        wins[idx] += 1;
        s.ack.notify_one();
    }
    drop(futs);
    wins
}

async fn select_waker(s: Arc<Select>) {
    let k = s.children.len() as u64;
    for r in 0..s.n {
        s.children[(r % k) as usize].notify_one();
        s.ack.notified().await;
    }
}

fn w_wake(a: &mut Args) {
    match a.mode.as_str() {
        "hop" => {
            let hops = a.n * a.m.max(1);
            let c = Arc::new(Court {
                n: hops,
                hops: AtomicU64::new(0),
                token: AtomicU64::new(0),
                spurious: AtomicU64::new(0),
                notify: [Notify::new(), Notify::new()],
            });
            let c2 = c.clone();
            let el = runtime().block_on(async move {
                let t0 = Instant::now();
                let j0 = tokio::spawn(player(c2.clone(), 0));
                let j1 = tokio::spawn(player(c2, 1));
                check!(j0.await.is_ok() && j1.await.is_ok());
                t0.elapsed()
            });
            check!(c.hops.load(Relaxed) == hops && c.spurious.load(Relaxed) <= 1);
            report(a, el, hops as f64);
        }
        "select" | "select_hand" => {
            let hand = a.mode == "select_hand";
            if a.m == 0 {
                a.m = 8;
            }
            let k = a.m as usize;
            let s = Arc::new(Select {
                n: a.n,
                children: (0..k).map(|_| Notify::new()).collect(),
                ack: Notify::new(),
            });
            let (el, wins) = runtime().block_on(async move {
                let t0 = Instant::now();
                let js = tokio::spawn(selector(s.clone(), hand));
                let jw = tokio::spawn(select_waker(s));
                let wins = js.await.expect("selector");
                check!(jw.await.is_ok());
                (t0.elapsed(), wins)
            });
            for (i, w) in wins.iter().enumerate() {
                check!(*w == a.n / k as u64 + ((i as u64) < a.n % k as u64) as u64);
            }
            println!(
                "{}.{} {} n={} m={} ns/op={:.2} select={}",
                PROG,
                a.workload,
                a.mode,
                a.n,
                a.m,
                el.as_secs_f64() * 1e9 / a.n as f64,
                if hand {
                    "hand"
                } else if k == 2 || k == 8 {
                    "macro"
                } else {
                    "vec"
                }
            );
            io::stdout().flush().ok();
        }
        _ => unknown(a),
    }
}

// ---------------------------------------------------------------------------
// B3 yield one|many: spawned tasks each `tokio::task::yield_now().await`
// N times (Tokio's yield: back to the scheduler, rescheduled behind the
// others; in 1.24 the wake is deferred until the driver was polled, which
// is Tokio's own behaviour and is measured). one: one task; many: M tasks
// (default 100), ns/op over N * M yields. Spawn and join inside the clock,
// as in libfut.

async fn yielder(n: u64) -> u64 {
    let mut done = 0;
    for _ in 0..n {
        tokio::task::yield_now().await;
        done += 1;
    }
    done
}

fn w_yield(a: &mut Args) {
    let tasks = match a.mode.as_str() {
        "one" => 1,
        "many" => {
            if a.m == 0 {
                a.m = 100;
            }
            a.m
        }
        _ => unknown(a),
    };
    let n = a.n;
    let (el, total) = runtime().block_on(async move {
        let mut hs = Vec::with_capacity(tasks as usize);
        let t0 = Instant::now();
        for _ in 0..tasks {
            hs.push(tokio::spawn(yielder(n)));
        }
        let mut total = 0;
        for h in hs.drain(..) {
            total += h.await.expect("yielder");
        }
        (t0.elapsed(), total)
    });
    check!(total == a.n * tasks);
    report(a, el, (a.n * tasks) as f64);
}

// ---------------------------------------------------------------------------
// B4 timer fifo|lifo: one spawned task arms N timers, `tokio::time::sleep`
// of 1e9 s each, then cancels them all, in arming order (fifo) or in
// reverse (lifo); M > 1 repeats that M times (warm; ns/op over N * M).
// Arming a Tokio Sleep means polling it once (that is when its entry goes
// into the timer wheel, with the task's waker), exactly as a fut_sleep is
// armed by its first poll; cancelling means dropping it (the entry leaves
// the wheel). So the task polls each new Sleep once, through a poll_fn with
// its own Context (a real task waker, not a noop one: the entries are
// registered as an `.await` would register them), checks it is pending,
// and later drops them in the chosen order. The Sleeps live in place in
// one Vec whose memory is allocated and touched before the clock starts
// (libfut's array is too); capacity N, never reallocated, so never moved
// once polled (they are !Unpin), dropped in place: like libfut's embedded
// fut_sleep, no allocation per timer. A pending Sleep poll does not use up
// Tokio's coop budget, so all N are really armed in the one poll.
// What Tokio does per timer and is measured: `sleep(d)` reads the clock
// (libfut and libuv use the loop's cached time) and clones the runtime
// handle (an atomic increment; the drop decrements it); the insert takes
// the time driver's lock and, in Tokio 1.24, unparks the driver (a write(2)
// to its eventfd) unless the driver last parked for an earlier deadline;
// here it last parked with no timer at all, so every insert does: one
// syscall per armed timer (strace: N writes).
//
// B4 timer fire: N spawned (detached) tasks, task i awaiting a sleep of
// (i % 64) ms, armed at its first poll; each counts itself when it fires
// and the last one notifies the main future (a Notify); run until every
// task finished. As libfut's fire: the spawn, arming, firing, wake and task
// completion, per timer; the wall time includes the ~63 ms wait.
//
// B4 timer timeout_ready: `tokio::time::timeout(1 s, ready(7)).await`, N
// times, in one spawned task: Tokio's combinator, as libfut's fut_timeout.
// Tokio's Timeout builds its Sleep up front (a clock read, a runtime
// handle clone) and polls the inner future first: ready, so the Sleep is
// never registered in the wheel, only dropped.
//
// B4 timer timeout_hand: the same with a hand-made timeout, the cheapest
// shape (as libfut's `struct timeout`): `HandTimeout` polls the child
// first and makes and polls (arms) its Sleep only when the child is
// pending; a ready child costs one poll, no clock read, no handle clone.

/// The hand-made timeout of timeout_hand.
struct HandTimeout<F> {
    child: F,
    after: Duration,
    sleep: Option<Sleep>,
}

impl<F: Future> Future for HandTimeout<F> {
    type Output = Result<F::Output, ()>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // Safety: structural pinning; neither field is ever moved out (the
        // Sleep is put in place before it is first pinned).
        let me = unsafe { self.get_unchecked_mut() };
        if let Poll::Ready(v) = unsafe { Pin::new_unchecked(&mut me.child) }.poll(cx) {
            return Poll::Ready(Ok(v));
        }
        if me.sleep.is_none() {
            me.sleep = Some(sleep(me.after));
        }
        match unsafe { Pin::new_unchecked(me.sleep.as_mut().unwrap()) }.poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(())),
            Poll::Pending => Poll::Pending,
        }
    }
}

fn drop_in_place_order(v: &mut Vec<Sleep>, lifo: bool) {
    let n = v.len();
    // Safety: the length is cleared first; each element is dropped exactly
    // once, in place (they are pinned).
    unsafe {
        v.set_len(0);
        let p = v.as_mut_ptr();
        if lifo {
            for i in (0..n).rev() {
                ptr::drop_in_place(p.add(i));
            }
        } else {
            for i in 0..n {
                ptr::drop_in_place(p.add(i));
            }
        }
    }
}

// The steady state of a program with timers (libfut's and libev's twins
// arm into a loop that already has its clock and timers going): a timer
// earlier than every measured one stays armed, and the driver has parked
// once since it was armed. Tokio's time driver unparks itself (a write(2)
// to its eventfd) when a timer is inserted before the earliest deadline it
// promised to wake for; that promise is only made when it parks. Without
// the sentinel, the driver last parked with no timer at all, and every one
// of the N inserts paid a write(2) (10,002 writes for N = 1e4 under
// strace). With it: none.
async fn timer_sentinel() -> Pin<Box<Sleep>> {
    let mut sentinel = Box::pin(sleep(FAR / 2));
    poll_fn(|cx| {
        check!(sentinel.as_mut().poll(cx).is_pending());
        Poll::Ready(())
    })
    .await;
    // Parks the driver with the sentinel armed: it records its next wake.
    sleep(Duration::from_millis(1)).await;
    sentinel
}

async fn timer_arm_cancel(n: usize, rounds: u64, lifo: bool) -> Duration {
    let mut v: Vec<Sleep> = Vec::with_capacity(n);
    // Touch the memory before the clock starts.
    unsafe { ptr::write_bytes(v.as_mut_ptr(), 1, n) };
    let sentinel = timer_sentinel().await;
    let t0 = Instant::now();
    for _ in 0..rounds {
        {
            let v = &mut v;
            poll_fn(move |cx| {
                for _ in 0..n {
                    v.push(sleep(FAR));
                    // Safety: capacity n, so the Vec never reallocates: the
                    // Sleep stays where it is until dropped in place.
                    let s = unsafe { Pin::new_unchecked(v.last_mut().unwrap()) };
                    check!(s.poll(cx).is_pending());
                }
                Poll::Ready(())
            })
            .await;
        }
        check!(v.len() == n);
        drop_in_place_order(&mut v, lifo);
    }
    let el = t0.elapsed();
    drop(sentinel);
    el
}

/// bench.h's bench_rand01: xorshift64* and the same seeds as libfut's and
/// libev's spread rows, so every runtime draws the same deadlines.
fn rand01(s: &mut u64) -> f64 {
    let mut x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    (x.wrapping_mul(0x2545F4914F6CDD1D) >> 11) as f64 * (1.0 / 9007199254740992.0)
}

// B4 timer spread (issue 13's headline timer rows): M background Sleeps and
// N new ones, all with deadlines uniform in [1 s, 1001 s) from the seeds of
// bench.h. The background is armed (each polled once, kept in place in one
// Vec) before the clock starts; each op is a new Sleep polled once (its
// entry goes into the wheel) and dropped (it leaves the wheel), as libfut
// polls and drops one fut_sleep. The sentinel, due in 0.5 s, is armed and
// parked on first, so no later insert is earlier than the driver's next
// wake and none pays an unpark (a write(2)); the background and the N ops
// each run in one poll, so the sentinel cannot fire in between.
async fn timer_spread(n: usize, m: usize) -> Duration {
    let mut bseed: u64 = 0x9E3779B97F4A7C15;
    let mut seed: u64 = 0x2545F4914F6CDD1D;
    let mut sentinel = Box::pin(sleep(Duration::from_millis(500)));
    poll_fn(|cx| {
        check!(sentinel.as_mut().poll(cx).is_pending());
        Poll::Ready(())
    })
    .await;
    sleep(Duration::from_millis(1)).await;
    let mut bg: Vec<Sleep> = Vec::with_capacity(m);
    {
        let bg = &mut bg;
        poll_fn(move |cx| {
            for _ in 0..m {
                bg.push(sleep(Duration::from_secs_f64(1.0 + 1000.0 * rand01(&mut bseed))));
                // Safety: capacity m, never reallocated: pinned in place.
                let s = unsafe { Pin::new_unchecked(bg.last_mut().unwrap()) };
                check!(s.poll(cx).is_pending());
            }
            Poll::Ready(())
        })
        .await;
    }
    let el = poll_fn(move |cx| {
        let t0 = Instant::now();
        for _ in 0..n {
            let s = sleep(Duration::from_secs_f64(1.0 + 1000.0 * rand01(&mut seed)));
            tokio::pin!(s);
            check!(s.as_mut().poll(cx).is_pending());
        }
        Poll::Ready(t0.elapsed())
    })
    .await;
    drop(sentinel);
    drop(bg);
    el
}

static FIRE_LEFT: AtomicU64 = AtomicU64::new(0);

fn w_timer(a: &Args) {
    let n = a.n as usize;
    let (el, ops) = match a.mode.as_str() {
        "early" | "mid" | "late" => unsupported(
            a,
            "early/mid/late probe libev's timer heap: libfut and libev only (bench/WORKLOADS.md)",
        ),
        "spread" => {
            let m = a.m as usize;
            let el = runtime().block_on(async move {
                tokio::spawn(timer_spread(n, m)).await.expect("timer task")
            });
            (el, a.n as f64)
        }
        "fifo" | "lifo" => {
            let lifo = a.mode == "lifo";
            let rounds = a.m.max(1);
            let el = runtime().block_on(async move {
                tokio::spawn(timer_arm_cancel(n, rounds, lifo))
                    .await
                    .expect("timer task")
            });
            (el, (a.n * rounds) as f64)
        }
        "fire" => {
            FIRE_LEFT.store(a.n, Relaxed);
            let el = runtime().block_on(async move {
                let all = Arc::new(Notify::new());
                let t0 = Instant::now();
                for i in 0..n {
                    let all = all.clone();
                    drop(tokio::spawn(async move {
                        sleep(Duration::from_millis((i % 64) as u64)).await;
                        let left = FIRE_LEFT.load(Relaxed) - 1;
                        FIRE_LEFT.store(left, Relaxed);
                        if left == 0 {
                            all.notify_one();
                        }
                    }));
                }
                all.notified().await;
                t0.elapsed()
            });
            check!(FIRE_LEFT.load(Relaxed) == 0);
            if n >= 64 {
                check!(el >= Duration::from_millis(63));
            }
            (el, a.n as f64)
        }
        "timeout_ready" | "timeout_hand" => {
            let hand = a.mode == "timeout_hand";
            let (el, sum) = runtime().block_on(async move {
                tokio::spawn(async move {
                    let mut sum = 0u64;
                    let t0 = Instant::now();
                    for _ in 0..n {
                        let r = if hand {
                            HandTimeout {
                                child: std::future::ready(7u64),
                                after: Duration::from_secs(1),
                                sleep: None,
                            }
                            .await
                        } else {
                            timeout(Duration::from_secs(1), std::future::ready(7u64))
                                .await
                                .map_err(|_| ())
                        };
                        match r {
                            Ok(v) => sum += v,
                            Err(()) => check!(false),
                        }
                    }
                    (t0.elapsed(), sum)
                })
                .await
                .expect("timer task")
            });
            check!(sum == 7 * a.n);
            (el, a.n as f64)
        }
        _ => unknown(a),
    };
    report(a, el, ops);
}

// ---------------------------------------------------------------------------
// B5 fdhop pipe: two spawned tasks ping-pong one byte over two real pipes
// (A writes p1, B reads p1 and writes p2, A reads p2), N hops. Tokio 1.24
// has no pipe type (tokio::net::unix::pipe came later); rather than change
// the kernel object (a UnixStream pair costs more per byte than a pipe),
// each pipe end is wrapped in `tokio::io::unix::AsyncFd`, Tokio's API for
// any pollable fd, and read/written with `try_io` + libc read/write: the
// readiness-then-syscall pattern of Tokio's own I/O types. A read shorter
// than the buffer means the pipe is drained, so the read readiness is
// cleared then (as Tokio's streams and libuv do), sparing the EAGAIN read;
// the write end stays writable (a pipe holding at most one byte) so the
// write never waits. Per hop, as libfut: wait for readability (epoll),
// read the byte, write the reply. The bytes carry the hop number (mod 256)
// and are checked on arrival. The last reader's reply (hop N's byte) tells
// the other task to stop: one uncounted hop out of N.

async fn hop_side(rd: RawFd, wr: RawFd, start: bool, n: u64, hops: Arc<AtomicU64>) {
    let rd = AsyncFd::with_interest(Fd(rd), Interest::READABLE).expect("AsyncFd");
    let wr = AsyncFd::with_interest(Fd(wr), Interest::WRITABLE).expect("AsyncFd");
    let send = |wr: &AsyncFd<Fd>, byte: u8| {
        let r = unsafe { libc::write(wr.as_raw_fd(), &byte as *const u8 as *const _, 1) };
        check!(r == 1);
    };
    if start {
        let _g = wr.writable().await.expect("writable");
        send(&wr, 0);
    }
    let mut buf = [0u8; 64];
    loop {
        let mut g = rd.readable().await.expect("readable");
        let r = g.try_io(|fd| {
            let r = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr() as *mut _, buf.len()) };
            if r < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(r as usize)
            }
        });
        let got = match r {
            Ok(Ok(got)) => got,
            Ok(Err(e)) => panic!("read: {}", e),
            Err(_would_block) => continue,
        };
        if got < buf.len() {
            g.clear_ready();
        }
        drop(g);
        check!(got == 1);
        let h = hops.load(Relaxed);
        check!(buf[0] == h as u8);
        if h >= n {
            return; // the stop byte
        }
        hops.store(h + 1, Relaxed);
        let _g = wr.writable().await.expect("writable");
        send(&wr, (h + 1) as u8);
        if h + 1 >= n {
            return;
        }
    }
}

fn w_fdhop(a: &Args) {
    if a.mode != "pipe" {
        unknown(a);
    }
    let (p1, p2) = (pipe(), pipe());
    let hops = Arc::new(AtomicU64::new(0));
    let (n, h2) = (a.n, hops.clone());
    let el = runtime().block_on(async move {
        let t0 = Instant::now();
        let ja = tokio::spawn(hop_side(p2[0], p1[1], true, n, h2.clone()));
        let jb = tokio::spawn(hop_side(p1[0], p2[1], false, n, h2));
        check!(ja.await.is_ok() && jb.await.is_ok());
        t0.elapsed()
    });
    check!(hops.load(Relaxed) == a.n);
    for fd in p1.iter().chain(p2.iter()) {
        unsafe { libc::close(*fd) };
    }
    report(a, el, a.n as f64);
}

// ---------------------------------------------------------------------------
// B7 drop timer|io|join: N parked tasks are cancelled (`JoinHandle::abort`)
// and their teardown completes (the runtime drops the task's future, which
// stops what it was waiting on, and finishes the task as cancelled); op =
// one cancel. As in libfut: the N tasks are spawned and polled once (parked)
// before the clock starts; measured: abort each, then await the join
// handles until each completed as cancelled (the teardown done).
//
//   timer  the task awaits `sleep(1e9 s)`; its teardown removes the entry
//          from the wheel.
//   io     the task awaits `readable()` of an AsyncFd on its own dup(2) of
//          the read end of a pipe nobody writes (N descriptors of one pipe;
//          Tokio, like epoll, registers an fd once); its teardown
//          deregisters it: an epoll_ctl DEL (libev defers that, Tokio does
//          not). The dups are made and closed outside the clock.
//   join   each victim task awaits a future that never completes; a second
//          task per victim awaits the victim's JoinHandle. Tokio 1.24 has
//          no public AbortHandle, so the victim's JoinHandle sits in a slot
//          shared by its joiner (which polls it in place) and main (which
//          calls abort() on it): single-threaded runtime, never both at
//          once. The joiner observes `is_cancelled()` and finishes; main
//          awaits the joiners' handles. Two task polls and two task
//          completions per op, as in libfut.

struct Slot(UnsafeCell<Option<JoinHandle<()>>>);

// Safety: the runtime is current_thread: the joiner (inside its poll) and
// main (between polls) never touch a slot at the same time.
unsafe impl Sync for Slot {}

fn need_fds(need: u64) {
    let mut rl = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl);
        if rl.rlim_cur < rl.rlim_max {
            rl.rlim_cur = rl.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &rl);
        }
    }
    if rl.rlim_cur != libc::RLIM_INFINITY && need + 64 > rl.rlim_cur as u64 {
        eprintln!(
            "{}: {} descriptors needed, RLIMIT_NOFILE is {}",
            PROG, need, rl.rlim_cur
        );
        std::process::exit(1);
    }
}

fn w_drop(a: &Args) {
    let mode = a.mode.as_str();
    match mode {
        "timer" | "io" | "join" => {}
        "sync" | "pd_ready" | "pd_pending" | "task_ready" | "task_pending" | "task_pd_ready"
        | "task_pd_pending" => unsupported(
            a,
            "the poll_drop paths are libfut's own: libfut and libev only (bench/WORKLOADS.md)",
        ),
        _ => unknown(a),
    }
    let n = a.n;
    let io_pipe = if mode == "io" {
        need_fds(n + 2);
        Some(pipe())
    } else {
        None
    };
    let el = runtime().block_on(async move {
        // Parked on timers: armed in steady state, see timer_sentinel().
        let _sentinel = if mode == "timer" { Some(timer_sentinel().await) } else { None };
        let base = PARKED.load(Relaxed);
        let mut hs: Vec<JoinHandle<()>> = Vec::with_capacity(n as usize);
        let mut fds: Vec<RawFd> = Vec::with_capacity(n as usize);
        if mode == "join" {
            let slots: Arc<Vec<Slot>> =
                Arc::new((0..n).map(|_| Slot(UnsafeCell::new(None))).collect());
            for i in 0..n as usize {
                let t = tokio::spawn(async {
                    parked_inc();
                    std::future::pending::<()>().await;
                });
                unsafe { *slots[i].0.get() = Some(t) };
                let slots = slots.clone();
                hs.push(tokio::spawn(async move {
                    parked_inc();
                    let r = poll_fn(|cx| {
                        // Safety: see Slot.
                        let h = unsafe { (*slots[i].0.get()).as_mut().unwrap() };
                        Pin::new(h).poll(cx)
                    })
                    .await;
                    check!(matches!(r, Err(e) if e.is_cancelled()));
                }));
            }
            wait_parked(base, 2 * n).await;
            let t0 = Instant::now();
            for s in slots.iter() {
                unsafe { (*s.0.get()).as_ref().unwrap().abort() };
            }
            for h in hs.drain(..) {
                check!(h.await.is_ok());
            }
            let el = t0.elapsed();
            for s in slots.iter() {
                check!(unsafe { (*s.0.get()).as_ref().unwrap().is_finished() });
            }
            return el;
        }
        for _ in 0..n {
            if let Some(p) = io_pipe {
                let fd = unsafe { libc::fcntl(p[0], libc::F_DUPFD_CLOEXEC, 0) };
                check!(fd >= 0);
                fds.push(fd);
                hs.push(tokio::spawn(async move {
                    let afd = AsyncFd::with_interest(Fd(fd), Interest::READABLE).expect("AsyncFd");
                    parked_inc();
                    let _ = afd.readable().await;
                    check!(false); // nobody writes
                }));
            } else {
                hs.push(tokio::spawn(async {
                    parked_inc();
                    sleep(FAR).await;
                    check!(false);
                }));
            }
        }
        wait_parked(base, n).await;
        let t0 = Instant::now();
        for h in hs.iter() {
            h.abort();
        }
        for h in hs.drain(..) {
            check!(matches!(h.await, Err(e) if e.is_cancelled()));
        }
        let el = t0.elapsed();
        for fd in fds.drain(..) {
            unsafe { libc::close(fd) };
        }
        el
    });
    if let Some(p) = io_pipe {
        unsafe {
            libc::close(p[0]);
            libc::close(p[1]);
        }
    }
    report(a, el, a.n as f64);
}

// ---------------------------------------------------------------------------
// B8 mem idle|timer|socket: N detached tasks (JoinHandle dropped, like
// libfut's FUT_SPAWN(.., NULL)), each polled once and parked, then:
//   bytes/task  the net bytes allocated through Rust's global allocator
//               (a counting wrapper of the system allocator, on for this
//               workload only) per task: Tokio's task cell (header, the
//               future, the scheduler's bookkeeping) and whatever the
//               runtime allocated for it (wheel entries are inline; the I/O
//               driver's ScheduledIo slab pages for socket);
//   rss/task    the growth of the resident set (/proc/self/statm) per task.
// future_bytes is the size of the task's future (the async block);
// overhead_bytes/task = bytes/task - future_bytes is what Tokio adds.
//   idle    the task awaits std::future::pending() (a future that never
//           wakes).
//   timer   the task awaits its own sleep(1e9 s).
//   socket  the task registers one end of its own socketpair
//           (tokio::net::UnixStream::from_std) and awaits readable(). The
//           N socketpairs are created before the first measurement (the fds
//           are not the runtime's); N is bounded by RLIMIT_NOFILE (2 fds a
//           task; the soft limit is raised to the hard one).

fn w_mem(a: &Args) {
    let n = a.n as usize;
    let mut socks = Vec::new();
    match a.mode.as_str() {
        "idle" | "timer" => {}
        "socket" => {
            need_fds(2 * n as u64);
            socks.reserve_exact(n);
            for _ in 0..n {
                let (x, y) = std::os::unix::net::UnixStream::pair().expect("socketpair");
                x.set_nonblocking(true).expect("nonblocking");
                socks.push((Some(x), y));
            }
        }
        _ => unknown(a),
    }
    let mode = a.mode.clone();
    let rt = runtime();
    let (bytes, rssd, fsize) = rt.block_on(async move {
        let base = PARKED.load(Relaxed);
        let live0 = LIVE.load(Relaxed);
        let rss0 = rss();
        let mut fsize = 0;
        for s in socks.iter_mut() {
            let x = s.0.take().unwrap();
            let f = async move {
                let s = tokio::net::UnixStream::from_std(x).expect("from_std");
                parked_inc();
                let _ = s.readable().await;
                check!(false);
            };
            fsize = std::mem::size_of_val(&f);
            drop(tokio::spawn(f));
        }
        if mode == "idle" {
            for _ in 0..n {
                let f = async {
                    parked_inc();
                    std::future::pending::<()>().await;
                };
                fsize = std::mem::size_of_val(&f);
                drop(tokio::spawn(f));
            }
        } else if mode == "timer" {
            for _ in 0..n {
                let f = async {
                    parked_inc();
                    sleep(FAR).await;
                    check!(false);
                };
                fsize = std::mem::size_of_val(&f);
                drop(tokio::spawn(f));
            }
        }
        wait_parked(base, n as u64).await;
        let live1 = LIVE.load(Relaxed);
        let rss1 = rss();
        (live1 - live0, rss1 - rss0, fsize)
        // socks (the other ends) live until here
    });
    println!(
        "{}.mem {} n={} m=0 bytes/task={:.1} rss/task={:.1} future_bytes={} \
         overhead_bytes/task={:.1}",
        PROG,
        a.mode,
        a.n,
        bytes as f64 / n as f64,
        rssd as f64 / n as f64,
        fsize,
        bytes as f64 / n as f64 - fsize as f64
    );
    io::stdout().flush().ok();
    drop(rt);
}

// ---------------------------------------------------------------------------
// B10 coordination: the synchronisation primitives a program builds from
// tasks, each the `tokio::sync` (or `tokio::process`) type Tokio code uses.
// libfut's twins: `b_sync sem|notify`, `b_chan stream|pingpong`,
// `b_process spawn`. The tasks are spawned and joined inside the clock, as
// in B2 (two spawns and two joins amortised over N ops).
//
//   sync sem         one spawned task: `sem.acquire().await` of a
//                    `tokio::sync::Semaphore` of one permit, nobody else
//                    holding it, then the permit dropped (the release), N
//                    times; op = one acquire + release. Tokio's Acquire
//                    future takes the fast path (a compare-and-swap of the
//                    permit count), but it first asks the cooperative
//                    budget: every 128 acquires the task is made to yield
//                    once (Tokio's behaviour, measured).
//   sync notify      two spawned tasks, each with its own `Arc<Notify>`: A
//                    `notify_one()`s B's and awaits its own `notified()`;
//                    B awaits its own, then `notify_one()`s A's; op = one
//                    hop (hop h is sent by A when h is even, by B when
//                    odd). Unlike B2's wake hop no shared state is touched:
//                    the Notify's stored permit is all the hand-off, so
//                    each task checks it received exactly its share.
//   chan stream      a bounded `tokio::sync::mpsc::channel::<usize>(64)`
//                    (usize: pointer-sized, as libfut's channel carries a
//                    void *): a producer task sends 0..N, a consumer task
//                    receives until the sender is dropped and checks every
//                    value in order; op = one message. The producer runs
//                    ahead until the channel is full (64), then each side
//                    parks on the other: Tokio's own batching.
//   chan pingpong    two bounded channels of capacity 1: A sends i on the
//                    request channel and awaits the reply; B receives each
//                    request and sends it back on the response channel; A
//                    checks the reply is i; op = one round trip (two
//                    messages, two task wakes).
//   process spawn    `tokio::process::Command::new("/bin/true")`, `spawn()`
//                    then `wait().await` (exit status checked: success), N
//                    times in sequence in one spawned task; op = one
//                    spawn + reap. Tokio learns of the exit through its
//                    SIGCHLD handler (the signal driver's self-pipe) and
//                    reaps with waitpid; std's spawn underneath (posix_spawn
//                    or fork + exec, as std chooses).

fn w_sync(a: &Args) {
    let n = a.n;
    let el = match a.mode.as_str() {
        "sem" => {
            let sem = Arc::new(tokio::sync::Semaphore::new(1));
            let s2 = sem.clone();
            let el = runtime().block_on(async move {
                tokio::spawn(async move {
                    let t0 = Instant::now();
                    for _ in 0..n {
                        let p = s2.acquire().await.expect("acquire");
                        drop(p);
                    }
                    t0.elapsed()
                })
                .await
                .expect("sem task")
            });
            check!(sem.available_permits() == 1);
            el
        }
        "notify" => {
            let na = Arc::new(Notify::new());
            let nb = Arc::new(Notify::new());
            runtime().block_on(async move {
                let (a1, b1) = (na.clone(), nb.clone());
                let t0 = Instant::now();
                let ja = tokio::spawn(async move {
                    let (mut sent, mut got) = (0u64, 0u64);
                    let mut h = 0;
                    while h < n {
                        b1.notify_one();
                        sent += 1;
                        if h + 1 < n {
                            a1.notified().await;
                            got += 1;
                        }
                        h += 2;
                    }
                    (sent, got)
                });
                let jb = tokio::spawn(async move {
                    let (mut sent, mut got) = (0u64, 0u64);
                    let mut h = 1;
                    while h <= n {
                        nb.notified().await;
                        got += 1;
                        if h < n {
                            na.notify_one();
                            sent += 1;
                        }
                        h += 2;
                    }
                    (sent, got)
                });
                let (sa, ga) = ja.await.expect("notify task A");
                let (sb, gb) = jb.await.expect("notify task B");
                let el = t0.elapsed();
                check!(sa + sb == n && ga == sb && gb == sa);
                el
            })
        }
        _ => unknown(a),
    };
    report(a, el, n as f64);
}

fn w_chan(a: &Args) {
    use tokio::sync::mpsc;
    let n = a.n;
    let el = match a.mode.as_str() {
        "stream" => runtime().block_on(async move {
            let t0 = Instant::now();
            let (tx, mut rx) = mpsc::channel::<usize>(64);
            let jp = tokio::spawn(async move {
                for i in 0..n as usize {
                    tx.send(i).await.expect("send");
                }
            });
            let jc = tokio::spawn(async move {
                let mut next = 0usize;
                while let Some(v) = rx.recv().await {
                    check!(v == next);
                    next += 1;
                }
                next as u64
            });
            check!(jp.await.is_ok());
            check!(jc.await.ok() == Some(n));
            t0.elapsed()
        }),
        "pingpong" => runtime().block_on(async move {
            let t0 = Instant::now();
            let (req_tx, mut req_rx) = mpsc::channel::<usize>(1);
            let (resp_tx, mut resp_rx) = mpsc::channel::<usize>(1);
            let ja = tokio::spawn(async move {
                let mut trips = 0u64;
                for i in 0..n as usize {
                    req_tx.send(i).await.expect("send request");
                    check!(resp_rx.recv().await == Some(i));
                    trips += 1;
                }
                trips
            });
            let jb = tokio::spawn(async move {
                while let Some(v) = req_rx.recv().await {
                    resp_tx.send(v).await.expect("send response");
                }
            });
            check!(ja.await.ok() == Some(n));
            check!(jb.await.is_ok());
            t0.elapsed()
        }),
        _ => unknown(a),
    };
    report(a, el, n as f64);
}

fn w_process(a: &Args) {
    if a.mode != "spawn" {
        unknown(a);
    }
    let n = a.n;
    let (el, ok) = runtime().block_on(async move {
        tokio::spawn(async move {
            let mut ok = 0u64;
            let t0 = Instant::now();
            for _ in 0..n {
                let mut child = tokio::process::Command::new("/bin/true")
                    .spawn()
                    .expect("spawn /bin/true");
                if child.wait().await.expect("wait").success() {
                    ok += 1;
                }
            }
            (t0.elapsed(), ok)
        })
        .await
        .expect("process task")
    });
    check!(ok == n);
    report(a, el, n as f64);
}

// ---------------------------------------------------------------------------
// B6 echo-server PORT: a TcpListener on 127.0.0.1:PORT (backlog 4096,
// as b_echo); every accepted connection is a spawned task with its own
// 16 KiB buffer (b_echo's size), `read` then `write_all` of what was read,
// until EOF or an error: the textbook Tokio echo server. Like b_echo, no
// socket option is set on the connections. SIGTERM (tokio::signal,
// awaited next to accept in a select!) ends it: it prints the process's
// getrusage, taken before the runtime is torn down, and exits 0. "ready"
// is printed once listening. One thread: current_thread.

async fn echo_conn(mut s: tokio::net::TcpStream) {
    let mut buf = vec![0u8; 16384];
    loop {
        let n = match s.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if s.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

fn echo_server(port: &str) -> ! {
    let port: u16 = match port.parse() {
        Ok(p) if p > 0 => p,
        _ => usage(),
    };
    let rt = runtime();
    rt.block_on(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        let bind = || -> io::Result<tokio::net::TcpListener> {
            let s = tokio::net::TcpSocket::new_v4()?;
            s.set_reuseaddr(true)?;
            s.bind(std::net::SocketAddr::from(([127, 0, 0, 1], port)))?;
            s.listen(4096)
        };
        let l = bind().unwrap_or_else(|e| {
            eprintln!("{}: listen on 127.0.0.1:{}: {}", PROG, port, e);
            std::process::exit(1)
        });
        println!("ready");
        io::stdout().flush().ok();
        loop {
            tokio::select! {
                r = l.accept() => {
                    if let Ok((s, _)) = r {
                        drop(tokio::spawn(echo_conn(s)));
                    }
                }
                _ = term.recv() => break,
            }
        }
    });
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    println!(
        "rusage user_us={} sys_us={}",
        ru.ru_utime.tv_sec as i64 * 1_000_000 + ru.ru_utime.tv_usec as i64,
        ru.ru_stime.tv_sec as i64 * 1_000_000 + ru.ru_stime.tv_usec as i64
    );
    io::stdout().flush().ok();
    std::process::exit(0) // without tearing the runtime and its connections down
}

// ---------------------------------------------------------------------------

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    if argv.len() == 3 && argv[1] == "echo-server" {
        echo_server(&argv[2]);
    }
    if argv.len() < 4 || argv.len() > 5 {
        usage();
    }
    let mut a = Args {
        workload: argv[1].clone(),
        mode: argv[2].clone(),
        n: parse_num(&argv[3]),
        m: if argv.len() > 4 {
            parse_num(&argv[4])
        } else {
            0
        },
    };
    if a.n < 1 {
        usage();
    }
    match a.workload.as_str() {
        "spawn" => w_spawn(&a),
        "wake" => w_wake(&mut a),
        "yield" => w_yield(&mut a),
        "timer" => w_timer(&a),
        "fdhop" => w_fdhop(&a),
        "drop" => w_drop(&a),
        "sync" => w_sync(&a),
        "chan" => w_chan(&a),
        "process" => w_process(&a),
        "mem" => {
            COUNTING.store(true, Relaxed);
            w_mem(&a)
        }
        _ => unknown(&a),
    }
}
