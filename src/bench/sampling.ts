/** Timing one run (wall clock and the process's CPU) and turning runs into a `Measurement`. */
import { median } from './stats.js';
import type { Measurement } from './types.js';

/** CPU seconds of each run, kept beside the wall-clock seconds pushed into the same array by `sample`. */
const cpuOf = new WeakMap<number[], number[]>();

/** Runs `f`, pushes its wall-clock seconds into `into` and records the process's CPU seconds for it. */
export async function sample<T>(into: number[], f: () => Promise<T>): Promise<T> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const v = await f();
  const sec = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  into.push(sec);
  let cpu = cpuOf.get(into);
  if (cpu === undefined) cpuOf.set(into, (cpu = []));
  cpu.push((c.user + c.system) / 1e6);
  return v;
}

/** Runs `f` `times` times, sampling each run into `into`. */
export async function sampleRuns(times: number, into: number[], f: (run: number) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < times; i++) await sample(into, () => f(i));
}

export function measurement(m: Omit<Measurement, 'bytesPerSecond'>, limit: number | undefined): Measurement {
  const bytesPerSecond = m.bytes / median(m.seconds);
  const cpu = cpuOf.get(m.seconds);
  const withCpu = cpu === undefined ? {} : { cpuSeconds: cpu, cores: median(cpu.map((c, i) => c / m.seconds[i]!)) };
  return { ...m, ...withCpu, bytesPerSecond, ...(limit === undefined ? {} : { ratioToFio: bytesPerSecond / limit }) };
}
