/**
 * Provenance as a compatibility boundary: a restore can require that the
 * checkpoint was written by the same training config, code, library major,
 * Node major or platform as the process restoring it, and is refused with
 * every difference listed (HF_INCOMPATIBLE) rather than resuming a run on
 * something silently different.
 */
import { HoldfastError, invalidArg } from '../errors.js';
import { LIBRARY_VERSION } from '../version.js';
import type { Provenance } from './manifest-types.js';

export const REQUIRE_SAME = ['config', 'git', 'library', 'library-major', 'node-major', 'platform'] as const;
export type RequireSame = (typeof REQUIRE_SAME)[number];

/** What the restoring process is: the caller's config hash and git commit, this build and this runtime. */
export interface CurrentProvenance {
  configHash?: string | undefined;
  gitCommit?: string | undefined;
  library?: string;
  node?: string;
  platform?: string;
}

export function currentRuntime(): Required<Pick<CurrentProvenance, 'library' | 'node' | 'platform'>> {
  return { library: LIBRARY_VERSION, node: process.version, platform: `${process.platform}-${process.arch}` };
}

/** `holdfast 1.4.2` → `1`; `v24.1.0` → `24`. */
function major(version: string | undefined): string | undefined {
  return version === undefined ? undefined : /(\d+)\./.exec(version)?.[1];
}

/** One line per required value that differs (or was not recorded), naming both sides. */
export function provenanceDifferences(recorded: Provenance, required: readonly RequireSame[], current: CurrentProvenance): string[] {
  const now = { ...currentRuntime(), ...current };
  const pairs: Record<RequireSame, [string, string | undefined, string | undefined]> = {
    config: ['config hash', recorded.configHash, now.configHash],
    git: ['git commit', recorded.gitCommit, now.gitCommit],
    library: ['library', recorded.library, now.library],
    'library-major': ['library major version', major(recorded.library), major(now.library)],
    'node-major': ['Node major version', major(recorded.node), major(now.node)],
    platform: ['platform', recorded.platform, now.platform],
  };
  const out: string[] = [];
  for (const what of required) {
    const [label, saved, here] = pairs[what];
    if (saved === undefined) out.push(`${label}: not recorded in the checkpoint, this process has ${JSON.stringify(here)}`);
    else if (saved !== here) out.push(`${label}: checkpoint ${JSON.stringify(saved)}, this process ${JSON.stringify(here)}`);
  }
  return out;
}

export function assertRequireSame(required: unknown, current: CurrentProvenance): asserts required is RequireSame[] {
  if (!Array.isArray(required)) throw invalidArg(`requireSame must be an array of ${REQUIRE_SAME.join(', ')}`);
  for (const r of required) {
    if (!REQUIRE_SAME.includes(r as RequireSame)) throw invalidArg(`requireSame: unknown value ${JSON.stringify(r)}; expected one of ${REQUIRE_SAME.join(', ')}`);
  }
  if (required.includes('config') && current.configHash === undefined) throw invalidArg("requireSame 'config' needs the current configHash to compare with");
  if (required.includes('git') && current.gitCommit === undefined) throw invalidArg("requireSame 'git' needs the current gitCommit to compare with");
}

export function assertSameProvenance(path: string, step: number, recorded: Provenance, required: readonly RequireSame[], current: CurrentProvenance): void {
  const diffs = provenanceDifferences(recorded, required, current);
  if (diffs.length > 0) {
    throw new HoldfastError('HF_INCOMPATIBLE', `checkpoint ${step} does not match this process (requireSame): ${diffs.join('; ')}`, { path, data: { step, differences: diffs } });
  }
}
