/** What every measurement step of one workload shares. */
import type { Tensor } from '../index.js';
import type { FileSystem } from '../fs/file-system.js';
import type { Workload, WorkloadName } from './workloads.js';
import type { IoRuntime } from '../io/io-runtime.js';

export interface WorkloadRun {
  /** Scratch I/O only (making and removing directories, baselines, io-layer rows); Holdfast rows go through `openStore`. */
  fs: FileSystem;
  /** This workload's scratch directory. */
  dir: string;
  name: WorkloadName;
  workload: Workload;
  tensors: Record<string, Tensor>;
  /** Runs per Holdfast measurement (the small workload gets more). */
  repeat: number;
  small: boolean;
  log: (line: string) => void;
  /** A fresh step number for the next save. */
  nextStep: () => number;
  /** One runtime for every store and io-layer row of the run: workers and buffers stay warm across them. */
  io: IoRuntime;
}
