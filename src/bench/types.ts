/** What `holdfast bench` reports: rows of measurements per workload, save latencies and the saveAsync pause. */
import type { DurabilityMode } from '../index.js';
import type { GrowthReport } from './growth.js';
import type { MachineInfo } from './machine.js';
import type { RanksReport } from './ranks-rows.js';
import type { S3Report } from './s3-bench.js';
import type { SaveMemoryResult } from './save-memory-child.js';
import type { WorkloadName } from './workloads.js';

export interface BenchOptions {
  dir: string;
  workloads: WorkloadName[];
  /** Scales the LLM workloads down to at most this many bytes (default: gpt2-small full size, 1b 1 GiB). */
  maxBytes?: number;
  repeat: number;
  quick: boolean;
  /** Also run the growth sweeps (growth.ts), the size sweep up to this many bytes. */
  growthMaxBytes?: number;
  /** Also the S3-tier rows (s3-bench.ts) on the server the AWS environment names, with a state of at most this many bytes. */
  s3?: { maxBytes: number };
  /** Also the many-ranks rows (ranks-rows.ts), with a state of at most this many bytes (default: gpt2-small full size). */
  ranks?: { maxBytes?: number };
  log: (line: string) => void;
}

export interface Measurement {
  label: string;
  /**
   * `holdfast`: the public store API. `io-layer` and `limit` rows measure a
   * lower layer on purpose (their labels start with `io layer:` / `limit:`);
   * `limit`: a cost of this machine that bounds Holdfast below the disk (hashing, fresh memory).
   */
  kind: 'fio' | 'baseline' | 'holdfast' | 'io-layer' | 'limit';
  mode?: DurabilityMode;
  method?: 'direct' | 'buffered';
  bytes: number;
  seconds: number[];
  /** CPU time of the whole process (every thread: main, hashing workers, I/O threads) per run, when measured. */
  cpuSeconds?: number[];
  /** Median over runs of CPU time / wall time: how many cores the run kept busy (2 = all of a 2-core machine). */
  cores?: number;
  /** Median bandwidth. */
  bytesPerSecond: number;
  /** Of the median against the fio limit of the same direction. */
  ratioToFio?: number;
  /** Restore rows: of the median against reading the same files into fresh memory without hashing. */
  ratioToFreshRead?: number;
  note?: string;
}

export interface LatencyRow {
  mode: DurabilityMode;
  method: 'direct' | 'buffered';
  samples: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  /** p50 against the same method's `unsafe` p50, minus one. */
  overheadVsUnsafe: number;
}

export interface AsyncPause {
  bytes: number;
  /** Duration of the first saveAsync call, which returns with the snapshot taken (staging memory allocated and faulted in). */
  firstPauseMs: number;
  /** The first call again, after `runtime.staging.reserve(bytes)` (outside the pause) allocated the staging memory. */
  reservedFirstPauseMs: number;
  /** Median of the following ones (staging memory reused). */
  steadyPauseMs: number;
  /** One plain copy of every tensor into already-touched memory: the target. */
  memcpyMs: number;
  /** One plain copy of every tensor into newly allocated memory: what the first call is up against. */
  freshMemcpyMs: number;
  /** Median call-to-committed. */
  committedMs: number;
}

/** One `saveAsync` within a staging budget, in a fresh process (staging-budget-rows.ts). */
export interface StagingBudgetRow extends SaveMemoryResult {
  /** The store's shard size in that run: the budget's granularity. */
  shardBytes: number;
  /** copy(staged) + deferred bytes / the run's steady-state save bandwidth. */
  predictedPauseMs: number;
  /** Peak − resident before the state − state − staged: what the save needed beyond the data. */
  overheadBytes: number;
}

export interface WorkloadResult {
  name: WorkloadName;
  description: string;
  tensors: number;
  bytes: number;
  fioWriteLimit?: number;
  fioReadLimit?: number;
  /** Reading the checkpoint's files into freshly allocated memory, no hashing: what any restore into new memory is bounded by. */
  freshReadLimit?: number;
  /** SHA-256 of the same byte count on every hashing worker at once, in memory: what full verification is bounded by. */
  hashLimit?: number;
  save: Measurement[];
  restore: Measurement[];
  latency: LatencyRow[];
  async?: AsyncPause;
  stagingBudget?: StagingBudgetRow[];
}

export interface BenchReport {
  startedAt: string;
  seconds: number;
  dir: string;
  machine: MachineInfo;
  options: { workloads: WorkloadName[]; maxBytes?: number; growthMaxBytes?: number; repeat: number; quick: boolean };
  fioCommands: string[];
  workloads: WorkloadResult[];
  growth?: GrowthReport;
  s3?: S3Report;
  ranks?: RanksReport;
}
