//! Runs one command as a child process and measures it from outside, the same way for every
//! stage and peer: peaks sampled from `/proc` while it lives (Linux), resource usage from `wait4`
//! when it exits (Unix), wall time, and the child's own `summary:` line.

use std::io::{self, BufRead, BufReader, Read, Seek};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use harness::Summary;
use harness::summary;

/// How often the child is sampled and checked for its exit.
const SAMPLE_INTERVAL: Duration = Duration::from_millis(1);

/// The most stderr and stdout text kept: the first error message, and every table of `--quiet`.
const STDERR_KEPT: usize = 2_000;
const STDOUT_KEPT: usize = 64_000;

/// Everything measured about one run.
#[derive(Debug, Clone)]
pub struct Measurement {
    /// How the child ended: `None` if it was killed for running past its time limit.
    pub status: Option<ExitStatus>,
    /// From spawning the child until its exit was noticed (at most one interval late).
    pub wall: Duration,
    /// The child's last `summary:` line, parsed.
    pub summary: Option<Summary>,
    /// The start of whatever the child wrote to stdout.
    pub stdout: String,
    /// The start of whatever the child wrote to stderr.
    pub stderr: String,
    /// Peaks read from `/proc` (Linux only).
    pub peaks: Option<Peaks>,
    /// Resource usage reported by the kernel at exit (Unix only).
    pub usage: Option<Usage>,
    /// CPU time that everything else on the machine used while the child ran (Linux only).
    pub outside_cpu: Option<Duration>,
    /// CPU time of the child's main thread, which submits the tasks, at the last sample (Linux).
    pub main_thread_cpu: Option<Duration>,
}

impl Measurement {
    /// The share of the machine's CPU that other processes used while the child ran (Linux only).
    pub fn disturbance(&self) -> Option<f64> {
        share_of_machine(self.outside_cpu?, self.wall)
    }

    /// A one-line reason why this run did not produce a summary, for tables and errors.
    pub fn failure(&self) -> Option<String> {
        let exit = match self.status {
            None => "killed after its time limit".to_string(),
            Some(status) if !status.success() => describe_exit(status),
            Some(_) if self.summary.is_none() => "exited without a summary line".to_string(),
            Some(_) => return None,
        };
        match self.stderr.lines().find(|line| !line.trim().is_empty()) {
            Some(first_error) => Some(format!("{exit}: {}", first_error.trim())),
            None => Some(exit),
        }
    }
}

fn describe_exit(status: ExitStatus) -> String {
    #[cfg(unix)]
    if let Some(signal) = std::os::unix::process::ExitStatusExt::signal(&status) {
        return format!("killed by signal {signal}");
    }
    match status.code() {
        Some(code) => format!("exit status {code}"),
        None => "abnormal exit".to_string(),
    }
}

/// The highest values seen in `/proc/<pid>/status` while the child ran.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Peaks {
    /// Most threads seen in one sample (`Threads`).
    pub threads: u64,
    /// Largest sampled resident set (`VmRSS`), KiB.
    pub rss_kib: u64,
    /// Largest sampled virtual memory (`VmSize`), KiB.
    pub vm_kib: u64,
    /// The kernel's own virtual-memory high-water mark (`VmPeak`) at the last sample, KiB.
    pub vm_peak_kib: u64,
    /// The kernel's own resident high-water mark (`VmHWM`) at the last sample, KiB.
    pub rss_hwm_kib: u64,
    /// How many samples were taken.
    pub samples: u64,
}

impl Peaks {
    /// The peak resident set, KiB: the kernel's high-water mark, or the largest sample where the
    /// mark is missing.
    pub fn rss_peak_kib(&self) -> u64 {
        self.rss_hwm_kib.max(self.rss_kib)
    }

    /// Folds one `/proc/<pid>/status` text into the peaks; missing lines (a zombie's) change none.
    pub fn record(&mut self, status: &str) {
        let numbers = status.lines().filter_map(|line| {
            let (key, value) = line.split_once(':')?;
            Some((key, value.split_whitespace().next()?.parse::<u64>().ok()?))
        });
        for (key, number) in numbers {
            let peak = match key {
                "Threads" => &mut self.threads,
                "VmRSS" => &mut self.rss_kib,
                "VmSize" => &mut self.vm_kib,
                "VmPeak" => &mut self.vm_peak_kib,
                "VmHWM" => &mut self.rss_hwm_kib,
                _ => continue,
            };
            *peak = (*peak).max(number);
        }
        self.samples += 1;
    }
}

/// What the kernel counted for the child over its whole life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    /// Peak resident set, KiB (exact: the kernel tracks it, no sampling involved).
    pub max_rss_kib: u64,
    /// User plus system CPU time, all threads.
    pub cpu: Duration,
    /// Context switches because a thread waited (sleep, lock, IO).
    pub voluntary_switches: u64,
    /// Context switches because the scheduler took the core away.
    pub involuntary_switches: u64,
}

/// Runs `command` to completion (or until `limit`), measuring it; fails if it cannot be started.
pub fn measure(mut command: Command, limit: Duration) -> io::Result<Measurement> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let busy_before = machine_busy();
    let start = Instant::now();
    let mut child = command.spawn()?;
    // Readers on their own threads: a child blocked on a full pipe would never exit.
    let stdout = read_head(child.stdout.take(), STDOUT_KEPT);
    let stderr = read_head(child.stderr.take(), STDERR_KEPT);
    let mut sampler = Sampler::open(child.id());

    let (status, usage) = loop {
        sampler.sample();
        if let Some((status, usage)) = reap(&mut child, false)? {
            break (Some(status), usage);
        }
        if start.elapsed() > limit {
            // Not reaped yet (`reap` just said so), so the pid is still this child's.
            child.kill()?;
            let (_, usage) = reap(&mut child, true)?.ok_or_else(|| io::Error::other("no exit"))?;
            break (None, usage);
        }
        thread::sleep(SAMPLE_INTERVAL);
    };
    let wall = start.elapsed();
    let busy = machine_busy().zip(busy_before).zip(usage);
    let outside_cpu = busy.map(|((after, before), usage)| after.saturating_sub(before + usage.cpu));
    let stdout = joined(stdout);
    let summary = summary::last_in(&stdout).and_then(|line| line.parse().ok());
    Ok(Measurement {
        status,
        wall,
        summary,
        stdout,
        stderr: joined(stderr),
        main_thread_cpu: sampler.main_thread_ns.map(Duration::from_nanos),
        peaks: (sampler.peaks.samples > 0).then_some(sampler.peaks),
        usage,
        outside_cpu,
    })
}

/// Runs `work` in this process, and returns what it returned with the share of the machine's
/// CPU that other processes used meanwhile, as [`Measurement::disturbance`] does.
pub fn in_process<T>(work: impl FnOnce() -> T) -> (T, Option<f64>) {
    let before = machine_busy().zip(own_cpu());
    let start = Instant::now();
    let value = work();
    let wall = start.elapsed();
    let after = machine_busy().zip(own_cpu());
    let share = before
        .zip(after)
        .and_then(|((busy, own), (busy_after, own_after))| {
            let others = busy_after.saturating_sub(busy + own_after.saturating_sub(own));
            share_of_machine(others, wall)
        });
    (value, share)
}

/// `cpu` as a share of what every core could have run in `wall`: 0.5 is one of two cores busy.
fn share_of_machine(cpu: Duration, wall: Duration) -> Option<f64> {
    let capacity = wall.as_secs_f64() * harness::cores() as f64;
    (capacity > 0.0).then(|| cpu.as_secs_f64() / capacity)
}

/// This process's CPU time, user and system, from `/proc/self/stat`.
fn own_cpu() -> Option<Duration> {
    let stat = io::read_to_string(open_proc("/proc/self/stat")?).ok()?;
    // utime and stime: the 12th and 13th fields after the command's name (which may hold spaces).
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace().skip(11);
    let mut ticks = || fields.next()?.parse::<u64>().ok();
    let (user, system) = (ticks()?, ticks()?);
    Some(Duration::from_millis((user + system) * 10))
}

/// CPU time the whole machine has spent busy since boot, from the first line of `/proc/stat`, in
/// ticks of 1/100 s (Linux's `USER_HZ` on every common architecture).
fn machine_busy() -> Option<Duration> {
    let stat = io::read_to_string(open_proc("/proc/stat")?).ok()?;
    busy_ticks(stat.lines().next()?).map(|ticks| Duration::from_millis(ticks * 10))
}

/// Opens `path`, a file of Linux's `/proc`; `None` on any other system, even where the path opens:
/// a Windows build run under Wine reads the Linux host's `/proc` (Wine's drive Z: is `/`), where
/// a child's Windows process id names some other process.
fn open_proc(path: &str) -> Option<std::fs::File> {
    cfg!(target_os = "linux")
        .then(|| std::fs::File::open(path).ok())
        .flatten()
}

fn busy_ticks(cpu_line: &str) -> Option<u64> {
    let mut fields = cpu_line.split_whitespace();
    if fields.next()? != "cpu" {
        return None;
    }
    let ticks: Vec<u64> = fields.map_while(|field| field.parse().ok()).collect();
    // user nice system idle iowait irq softirq steal (guest time is already in user)
    let busy = [0, 1, 2, 5, 6, 7]
        .iter()
        .filter_map(|&index| ticks.get(index))
        .sum();
    (ticks.len() >= 4).then_some(busy)
}

/// Reads `pipe` to the end on a thread of its own (so the child never blocks on it), keeping the
/// lines that start within the first `limit` bytes.
fn read_head(pipe: Option<impl Read + Send + 'static>, limit: usize) -> Option<JoinHandle<String>> {
    let read = move |pipe| {
        let mut kept = String::new();
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            if kept.len() < limit {
                kept.push_str(&line);
                kept.push('\n');
            }
        }
        kept
    };
    pipe.map(|pipe| thread::spawn(move || read(pipe)))
}

fn joined(reader: Option<JoinHandle<String>>) -> String {
    reader.and_then(|text| text.join().ok()).unwrap_or_default()
}

/// Reads `/proc/<pid>/status` and the main thread's `schedstat` through files opened once: a file
/// opened before the reap keeps referring to that process, so a reused pid is never sampled.
struct Sampler {
    status: Option<std::fs::File>,
    /// `/proc/<pid>/task/<pid>/schedstat`: the main thread's time on a core, in nanoseconds.
    main_thread: Option<std::fs::File>,
    main_thread_ns: Option<u64>,
    text: String,
    peaks: Peaks,
}

impl Sampler {
    fn open(pid: u32) -> Self {
        Sampler {
            status: open_proc(&format!("/proc/{pid}/status")),
            main_thread: open_proc(&format!("/proc/{pid}/task/{pid}/schedstat")),
            main_thread_ns: None,
            text: String::new(),
            peaks: Peaks::default(),
        }
    }

    fn sample(&mut self) {
        if reread(&mut self.status, &mut self.text) {
            self.peaks.record(&self.text);
        }
        // The first field keeps growing while the thread lives: the last read is the closest.
        if reread(&mut self.main_thread, &mut self.text) {
            let first = self.text.split_whitespace().next();
            let ns = first.and_then(|field| field.parse().ok());
            self.main_thread_ns = ns.or(self.main_thread_ns);
        }
    }
}

/// Reads `file` again from its start into `text`; a file that can no longer be read (its process
/// was reaped) is closed for good.
fn reread(file: &mut Option<std::fs::File>, text: &mut String) -> bool {
    let Some(open) = file.as_mut() else {
        return false;
    };
    text.clear();
    let read = open.rewind().and_then(|()| open.read_to_string(text));
    if read.is_err() {
        *file = None;
    }
    read.is_ok()
}

/// Reaps the child if it has exited (waits for it if `block`), with its resource usage if known.
#[cfg(not(unix))]
fn reap(child: &mut Child, block: bool) -> io::Result<Option<(ExitStatus, Option<Usage>)>> {
    let status = if block {
        Some(child.wait()?)
    } else {
        child.try_wait()?
    };
    Ok(status.map(|status| (status, None)))
}

/// [`reap`] with `wait4(2)`: the crate's only `unsafe`, since std's `Child` reports no usage.
#[cfg(unix)]
#[allow(unsafe_code)]
fn reap(child: &mut Child, block: bool) -> io::Result<Option<(ExitStatus, Option<Usage>)>> {
    use std::os::unix::process::ExitStatusExt;
    let pid = libc::pid_t::try_from(child.id()).map_err(io::Error::other)?;
    let options = if block { 0 } else { libc::WNOHANG };
    let mut status: libc::c_int = 0;
    // SAFETY: `rusage` is a plain C struct of integers and `timeval`s, for which all-zero bytes
    // are a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: both pointers are live, exclusive borrows of correctly typed locals, and the
        // kernel writes nothing else. `pid` is our child, not reaped yet: no other process.
        let reaped = unsafe { libc::wait4(pid, &mut status, options, &mut usage) };
        match reaped {
            0 => return Ok(None),
            -1 => {
                let error = io::Error::last_os_error();
                if error.kind() != io::ErrorKind::Interrupted {
                    return Err(error);
                }
            }
            _ => return Ok(Some((ExitStatus::from_raw(status), usage_from(&usage)))),
        }
    }
}

#[cfg(unix)]
fn usage_from(usage: &libc::rusage) -> Option<Usage> {
    let seconds = |time: libc::timeval| {
        Duration::from_secs(time.tv_sec.try_into().unwrap_or(0))
            + Duration::from_micros(time.tv_usec.try_into().unwrap_or(0))
    };
    let count = |value: libc::c_long| u64::try_from(value).unwrap_or(0);
    // Linux and the BSDs report `ru_maxrss` in KiB, macOS in bytes.
    let per_kib = if cfg!(target_os = "macos") { 1024 } else { 1 };
    Some(Usage {
        max_rss_kib: count(usage.ru_maxrss) / per_kib,
        cpu: seconds(usage.ru_utime) + seconds(usage.ru_stime),
        voluntary_switches: count(usage.ru_nvcsw),
        involuntary_switches: count(usage.ru_nivcsw),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peaks_keep_the_highest_value_of_each_line() {
        let mut peaks = Peaks::default();
        peaks.record("Name:\tx\nThreads:\t3\nVmPeak:\t 900 kB\nVmSize:\t 800 kB\nVmRSS:\t 50 kB\n");
        peaks.record("Threads:\t7\nVmSize:\t 600 kB\nVmRSS:\t 70 kB\nVmHWM:\t 75 kB\n");
        // A zombie's status has no memory lines and one thread left.
        peaks.record("State:\tZ (zombie)\nThreads:\t1\n");
        let expected = Peaks {
            threads: 7,
            rss_kib: 70,
            vm_kib: 800,
            vm_peak_kib: 900,
            rss_hwm_kib: 75,
            samples: 3,
        };
        assert_eq!(peaks, expected);
    }

    #[test]
    fn busy_time_leaves_out_idle_and_io_wait() {
        let line = "cpu  100 5 20 9000 40 1 2 3 0 0";
        assert_eq!(busy_ticks(line), Some(100 + 5 + 20 + 1 + 2 + 3));
        assert_eq!(busy_ticks("cpu0 1 2 3 4"), None);
        assert_eq!(busy_ticks("intr 1 2 3"), None);
    }

    #[cfg(unix)]
    #[test]
    fn a_child_is_measured_and_its_exit_reported() {
        let mut command = Command::new("sh");
        command.args([
            "-c",
            "echo summary: stage=01 tasks=1 completed=1 panicked=0 workers=- queue=- \
             task=sleep:1ms elapsed_ms=1.0 ideal_ms=1.0 tasks_per_s=1000.0 max_in_flight=1; \
             echo oops >&2; exit 3",
        ]);
        let run = measure(command, Duration::from_secs(10)).expect("sh runs");
        assert_eq!(run.status.and_then(|status| status.code()), Some(3));
        assert_eq!(run.summary.as_ref().map(|s| s.completed), Some(1));
        assert_eq!(run.failure().as_deref(), Some("exit status 3: oops"));
        let usage = run.usage.expect("wait4 reports usage on Unix");
        assert!(usage.max_rss_kib > 0);
        // Sampled before the reap, while even an exited child still has its /proc entry.
        let (sampled, linux) = (run.main_thread_cpu.is_some(), cfg!(target_os = "linux"));
        assert_eq!(sampled, linux, "a schedstat sample on Linux");
    }

    #[test]
    fn work_in_process_returns_its_value_and_on_linux_its_disturbance() {
        let (value, share) =
            in_process(|| (0..1_000_000_u64).map(std::hint::black_box).sum::<u64>());
        assert_eq!(value, 499_999_500_000);
        assert_eq!(share.is_some(), cfg!(target_os = "linux"));
        assert_eq!(own_cpu().is_some(), cfg!(target_os = "linux"));
    }

    #[cfg(unix)]
    #[test]
    fn a_child_past_its_limit_is_killed() {
        let mut command = Command::new("sleep");
        command.arg("30");
        let run = measure(command, Duration::from_millis(100)).expect("sleep runs");
        assert_eq!(run.status, None);
        let failure = run.failure().unwrap_or_default();
        let killed = failure.starts_with("killed after its time limit");
        assert!(killed, "{failure}");
    }
}
