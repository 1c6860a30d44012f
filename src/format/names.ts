/** Every on-disk name of a local store (DESIGN §4), and the rule for a step number, in one place. */
import { invalidArg } from '../errors.js';

export const STORE_DESCRIPTOR = 'holdfast.json';
export const STAGING_DIR = '.staging';
export const QUARANTINE_DIR = '.quarantine';
export const AUDIT_LOG = 'audit.log';
/** The writer lease: `.lease/record`, with its temporary and retired records beside it. */
export const LEASE_DIR = '.lease';
export const LEASE_RECORD = 'record';
/** Small named records of the store (tags): `.records/<name>`. */
export const RECORDS_DIR = '.records';
export const MANIFEST_FILE = 'manifest.json';
export const SHA256SUMS_FILE = 'SHA256SUMS';

/** An `unsafe` save's manifest before its rename to `manifest.json`: hidden, and named by the attempt. */
export function pendingManifestName(nonce: string): string {
  return `.${MANIFEST_FILE}.${nonce}.pending`;
}
const CHECKPOINT_PREFIX = 'ckpt-';
/** Steps are zero-padded to 12 digits so lexical order is numeric order. */
const STEP_DIGITS = 12;

export function checkpointDirName(step: number): string {
  return CHECKPOINT_PREFIX + String(step).padStart(STEP_DIGITS, '0');
}

/**
 * The step of a checkpoint directory name, or undefined for anything else.
 * Only the canonical name `checkpointDirName(step)` counts: `ckpt-0000000000012`
 * beside `ckpt-000000000012` would otherwise be a second copy of step 12.
 */
export function parseCheckpointDirName(name: string): number | undefined {
  const m = /^ckpt-(\d{12,16})$/.exec(name);
  if (!m) return undefined;
  const step = Number(m[1]);
  return Number.isSafeInteger(step) && checkpointDirName(step) === name ? step : undefined;
}

export function stagingDirName(step: number, nonce: string): string {
  return `${String(step).padStart(STEP_DIGITS, '0')}-${nonce}`;
}

export function shardFileName(rank: number, part: number): string {
  return `r${String(rank).padStart(4, '0')}-p${String(part).padStart(3, '0')}.safetensors`;
}

export function assertValidStep(step: unknown): asserts step is number {
  if (typeof step !== 'number' || !Number.isSafeInteger(step) || step < 0) {
    throw invalidArg(`step must be a non-negative integer, got ${JSON.stringify(step)}`);
  }
}

/** A quarantined checkpoint's name: unique per move, sortable by time, still saying which step. */
export function quarantineName(step: number, nonce: string): string {
  return `${checkpointDirName(step)}-${compactTimestamp()}-${nonce.slice(0, 8)}`;
}

/** `20261201T220323123Z`: an ISO time without separators, for names. */
export function compactTimestamp(): string {
  return new Date().toISOString().replace(/[-:.]/g, '');
}

const RECORD_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** A store record's name (a tag's record): a plain, portable file or key name, never a path. */
export function assertValidRecordName(name: unknown, what = 'record name'): asserts name is string {
  if (typeof name !== 'string' || !RECORD_NAME_RE.test(name)) {
    throw invalidArg(`${what} must be 1-128 characters of letters, digits, ".", "_" or "-", starting with a letter or digit, got ${JSON.stringify(name)}`);
  }
}

/** Epoch records of multi-rank job incarnations (`epochs/<E>`), never deleted by gc. */
export const EPOCHS_DIR = 'epochs';
/** Rank records and the abort marker inside a multi-rank attempt. */
export const ATTEMPT_RECORDS_DIR = 'records';

export function epochRecordName(epoch: number): string {
  return String(epoch).padStart(20, '0');
}

export function parseEpochRecordName(name: string): number | undefined {
  if (!/^\d{20}$/.test(name)) return undefined;
  const epoch = Number(name);
  return Number.isSafeInteger(epoch) ? epoch : undefined;
}
