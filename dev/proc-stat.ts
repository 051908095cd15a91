import { readFileSync } from 'node:fs';

/** /proc counts CPU time in clock ticks of 1/100 s (USER_HZ, the same on every Linux architecture Node runs on). */
export const TICKS_PER_SECOND = 100;

export interface ProcessStat {
  parent: number;
  /** When it started (clock ticks after boot): with the pid, it names one process, as pids are reused. */
  started: string;
  /** CPU used so far, user and system (utime + stime), in clock ticks. */
  ticks: number;
}

/** A process's /proc/<pid>/stat (Linux); throws when there is no such process (any more). */
export function procStat(pid: number): ProcessStat {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name, in brackets, may hold spaces: the fields after the last ')' are fixed. Field N of stat is at
  // N - 3 here: ppid (4), utime (14), stime (15), starttime (22).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { parent: Number(fields[1]), started: fields[19] ?? '', ticks: Number(fields[11]) + Number(fields[12]) };
}
