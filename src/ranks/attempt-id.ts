/**
 * The attempt id shared by every rank of one job incarnation and unique per
 * incarnation: the caller's, or the launcher's (TorchElastic run id + restart
 * count, Slurm job id + restart count). It becomes the manifest nonce through
 * a pure function (a SHA-256 prefix), so every rank derives the same nonce
 * with no exchange; the original id is recorded beside it.
 */
import { createHash } from 'node:crypto';
import { invalidArg } from '../errors.js';

export interface Attempt {
  /** What the caller or launcher named it. */
  id: string;
  /** 32 lowercase hex: the manifest nonce and the staging/attempt name. */
  nonce: string;
}

export function attemptNonce(id: string): string {
  return createHash('sha256').update(`holdfast-attempt\0${id}`).digest('hex').slice(0, 32);
}

/** From the launcher's environment; undefined when none of the known launchers set it. */
export function attemptIdFromEnv(env: NodeJS.ProcessEnv): string | undefined {
  const elastic = env['TORCHELASTIC_RUN_ID'];
  if (elastic !== undefined && elastic !== '') return `torchelastic:${elastic}:${env['TORCHELASTIC_RESTART_COUNT'] ?? '0'}`;
  const slurm = env['SLURM_JOB_ID'];
  if (slurm !== undefined && slurm !== '') return `slurm:${slurm}:${env['SLURM_RESTART_COUNT'] ?? '0'}`;
  return undefined;
}

export function resolveAttempt(option: string | undefined, env: NodeJS.ProcessEnv = process.env): Attempt {
  if (option !== undefined && (typeof option !== 'string' || option === '')) throw invalidArg(`attempt must be a non-empty string, got ${JSON.stringify(option)}`);
  const id = option ?? attemptIdFromEnv(env);
  if (id === undefined) {
    throw invalidArg('a multi-rank store needs an attempt id shared by all ranks of this job incarnation: pass { attempt } or run under torchrun (TORCHELASTIC_RUN_ID) or Slurm (SLURM_JOB_ID)');
  }
  return { id, nonce: attemptNonce(id) };
}
