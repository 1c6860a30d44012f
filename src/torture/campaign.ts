/**
 * The shape every fault campaign returns (DESIGN §9), so the CLI, the JSON
 * output and the HTML report treat them alike. A campaign is seeded; every
 * violation carries what is needed to replay it.
 */
import type { DurabilityMode } from '../store/types.js';

export type CampaignName = 'kill' | 'powerloss' | 'corrupt' | 'ioerror';

export interface CampaignOptions {
  /** Durability modes to exercise (campaigns that do not vary the mode ignore it). */
  modes: DurabilityMode[];
  /** Trials per mode (kill), per fault class (corrupt), or a cap on sampled states (powerloss). */
  trials: number;
  seed: number;
  /** Scratch directory on the disk under test; the campaign removes what it creates. */
  workDir: string;
  onProgress?: (done: number, total: number, label: string) => void;
}

/** k successes out of n with a 95 % Wilson score interval. */
export interface Proportion {
  k: number;
  n: number;
  rate: number;
  lower: number;
  upper: number;
}

export interface CampaignRow {
  /** What the row groups by: a mode (`atomic_dirsync`) or a fault class (`bit-flip`), or both. */
  group: string;
  mode?: DurabilityMode;
  fault?: string;
  trials: number;
  /** Outcome name → count, e.g. `newest-restored`, `older-restored`, `nothing-valid`, `torn-returned`. */
  outcomes: Record<string, number>;
  /** The row's guarantee as a proportion (e.g. trials without a torn load, or faults detected). */
  guarantee: Proportion;
  /** What `guarantee` measures, in words. */
  guaranteeLabel: string;
  /** Whether this row is required to be 100 % (atomic modes, detection) or only reported (unsafe). */
  required: boolean;
}

export interface Violation {
  group: string;
  trial: number;
  seed: number;
  description: string;
  /** The command line or parameters that replay exactly this trial. */
  replay: string;
}

export interface CampaignResult {
  campaign: CampaignName;
  seed: number;
  rows: CampaignRow[];
  /** Broken guarantees in rows marked `required`. Empty means the campaign passed. */
  violations: Violation[];
  /** Extra counts worth reporting (e.g. `distinctStates`, `crashPoints`). */
  counters: Record<string, number>;
  /** Free-form explanations for the report (e.g. why unsafe tears). */
  notes: string[];
  durationMs: number;
}
