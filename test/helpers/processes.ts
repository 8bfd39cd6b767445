import { readFileSync, readdirSync } from 'node:fs'

/** The processes this one has started and that still run (Linux: /proc/<pid>/task/<tid>/children). */
export function childProcesses (pid = process.pid): number[] {
  return readdirSync(`/proc/${pid}/task`).flatMap((tid) => readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ').filter(Boolean).map(Number))
}

/** A field of /proc/<pid>/task/<tid>/stat for every thread of a process (fields numbered as in proc(5)). */
function threadField (pid: number, field: number): number[] {
  // Counted after the command's closing parenthesis, which ends field 2.
  return readdirSync(`/proc/${pid}/task`).map((tid) => Number(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ')[field - 3]))
}

/** The nice value of every thread of a process. */
export function niceValues (pid: number): number[] {
  return threadField(pid, 19)
}

/** The scheduling policy of every thread of a process (0 SCHED_OTHER, 5 SCHED_IDLE). */
export function schedulingPolicies (pid: number): number[] {
  return threadField(pid, 41)
}
