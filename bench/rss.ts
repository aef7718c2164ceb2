import { readFileSync } from "node:fs";

const TICKS_PER_SECOND = 100;

/**
 * CPU seconds (user and system) used so far by a process and its live children (cluster
 * workers, nginx workers), from /proc. Children that have exited are not counted.
 */
export function cpuSecondsOf(pid: number): number {
  let ticks = 0;
  for (const p of [pid, ...childrenOf(pid)]) {
    try {
      // The command name (field 2) may hold spaces; the fields after its ")" are fixed.
      const stat = readFileSync(`/proc/${p}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
    } catch {
      // the process has just exited
    }
  }
  return ticks / TICKS_PER_SECOND;
}

/** Resident set size of a process and its children (cluster workers), in bytes, from /proc. */
export function rssOf(pid: number): number {
  let total = 0;
  for (const p of [pid, ...childrenOf(pid)]) {
    try {
      const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${p}/status`, "utf8"));
      if (m) total += Number(m[1]) * 1024;
    } catch {
      // the process has just exited
    }
  }
  return total;
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

export interface RssSampler {
  /** Stops sampling; the highest and last samples in bytes. */
  stop(): { peak: number; samples: number };
}

/** Samples the RSS of `pid` (and its children) every `everyMs` until stopped. */
export function sampleRss(pid: number, everyMs = 100): RssSampler {
  let peak = rssOf(pid);
  let samples = 1;
  const timer = setInterval(() => {
    peak = Math.max(peak, rssOf(pid));
    samples++;
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      return { peak, samples };
    },
  };
}
