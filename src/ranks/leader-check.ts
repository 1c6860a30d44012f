/**
 * What the leader checks before it writes a manifest binding N ranks' files
 * (scale-out note §7.2 step 3), and the merge of the records into the
 * manifest's files, tensors and rank state. Every record must be of this
 * step, attempt and world size, under its own rank's name; no rank may have
 * failed; file names are unique and carry their rank's prefix; each file is
 * present at its recorded size; every rank sealed its files as the leader
 * does (the same key id, or plain like it); every rank accepts the key the
 * leader signs with (sign-rank-manifest.ts); every tensor has one dtype and one global
 * shape on all ranks, and the slabs of all ranks tile it exactly. All
 * problems are listed, not just the first: the abort marker says them all.
 */
import { encryptedSize } from '../format/chunk-cipher.js';
import { shardFileName } from '../format/names.js';
import { defineEntry } from '../format/define-entry.js';
import type { JsonValue, ManifestEncryption, ManifestFile, ManifestTensor } from '../format/manifest-types.js';
import { tilingProblem } from '../format/slab-tiling.js';
import type { StoredFileInfo } from '../storage/checkpoint-storage.js';
import type { RankRecord, RankRecordFile } from './rank-record.js';
import { rankSigningProblem, type KeyRef } from './sign-rank-manifest.js';

export interface Expected {
  step: number;
  nonce: string;
  worldSize: number;
  /** The leader's own encryption at rest (undefined: plain); every rank must match it. */
  encryption?: ManifestEncryption | undefined;
  /** The key the leader signs the manifest with (undefined: unsigned); every rank must accept it. */
  signing?: KeyRef | undefined;
}

export interface MergedRecords {
  files: ManifestFile[];
  tensors: Record<string, ManifestTensor>;
  rankState: JsonValue[];
}

/** `records[r]` is what `rank-<r>` held; `stats` what the storage says about each file now. */
export function checkAndMerge(records: readonly RankRecord[], expected: Expected, stats: ReadonlyMap<string, StoredFileInfo | undefined>): MergedRecords | string[] {
  const problems: string[] = [];
  const files: ManifestFile[] = [];
  const tensors: Record<string, ManifestTensor> = {};
  const seen = new Set<string>();
  records.forEach((r, rank) => {
    const who = `rank ${rank}`;
    if (r.error !== undefined) problems.push(`${who} failed: ${r.error}`);
    if (r.rank !== rank) problems.push(`${who}'s record says rank ${r.rank}`);
    if (r.step !== expected.step || r.nonce !== expected.nonce || r.worldSize !== expected.worldSize) {
      problems.push(`${who}'s record is of step ${r.step}, attempt ${r.nonce}, world size ${r.worldSize}; expected ${expected.step}, ${expected.nonce}, ${expected.worldSize}`);
    }
    const sealing = sealingProblem(r, expected.encryption);
    if (sealing !== undefined) problems.push(sealing);
    const signing = rankSigningProblem(rank, r.signing, expected.signing);
    if (signing !== undefined) problems.push(signing);
    const prefix = shardFileName(rank, 0).slice(0, 6); // `r0003-`
    for (const f of r.files) {
      if (!f.path.startsWith(prefix)) problems.push(`${who}'s file ${f.path} does not carry its rank prefix ${prefix}`);
      if (seen.has(f.path)) problems.push(`file ${f.path} is listed twice`);
      seen.add(f.path);
      const st = stats.get(f.path);
      if (st === undefined) problems.push(`${who}'s file ${f.path} is missing`);
      else if (st.kind !== 'file' || st.sizeBytes !== f.size) problems.push(`${who}'s file ${f.path} is ${st.kind === 'file' ? `${st.sizeBytes} bytes` : `a ${st.kind}`}, its record says ${f.size} bytes`);
      if (sealing === undefined) problems.push(...fileSealingProblems(who, f, expected.encryption));
      files.push({ path: f.path, size: f.size, hash: f.hash, rank, kind: 'shard', chunks: f.chunks, ...(f.encrypted === undefined ? {} : { encrypted: f.encrypted }) });
    }
    mergeTensors(tensors, r, problems);
  });
  for (const [name, t] of Object.entries(tensors)) {
    if (t.slabs.some((s) => 'flat' in s) && t.slabs.some((s) => !('flat' in s))) problems.push(`tensor ${JSON.stringify(name)}: some ranks give boxes, others flat ranges`);
    else {
      const problem = tilingProblem(t.shape, t.slabs);
      if (problem !== undefined) problems.push(`tensor ${JSON.stringify(name)}: the ranks' slabs do not tile [${t.shape.join(', ')}] exactly: ${problem}`);
    }
  }
  return problems.length > 0 ? problems : { files, tensors, rankState: records.map((r) => r.rankState ?? null) };
}

function describeSealing(e: ManifestEncryption | undefined): string {
  return e === undefined ? 'no key (plain files)' : `key ${e.keyId} (${e.alg}, ${e.chunkBytes}-byte records)`;
}

/** A rank whose files are not sealed as the leader's are: another key id, or a key where the leader has none, or the reverse. */
function sealingProblem(r: RankRecord, leader: ManifestEncryption | undefined): string | undefined {
  const own = r.encryption;
  if (own?.keyId === leader?.keyId && own?.alg === leader?.alg && own?.chunkBytes === leader?.chunkBytes) return undefined;
  return `rank ${r.rank} encrypts with ${describeSealing(own)}, the leader (rank 0) with ${describeSealing(leader)}: every rank must open the store with the same encryption key`;
}

/** A file's `encrypted` must be there exactly when the checkpoint is encrypted, and agree with its stored size. */
function fileSealingProblems(who: string, f: RankRecordFile, encryption: ManifestEncryption | undefined): string[] {
  const e = f.encrypted;
  if (encryption === undefined) return e === undefined ? [] : [`${who}'s file ${f.path} says it is encrypted, but the rank has no key`];
  if (e === undefined) return [`${who}'s file ${f.path} is not listed as encrypted, though the rank has key ${encryption.keyId}`];
  if (!Number.isSafeInteger(e.plainSize) || e.plainSize < 0 || typeof e.noncePrefix !== 'string' || !/^[0-9a-f]{16}$/.test(e.noncePrefix)) return [`${who}'s file ${f.path} has a malformed encrypted entry ${JSON.stringify(e)}`];
  const stored = encryptedSize(e.plainSize, encryption.chunkBytes);
  return stored === f.size ? [] : [`${who}'s file ${f.path} is ${f.size} bytes stored, but ${e.plainSize} plaintext bytes seal to ${stored}`];
}

function mergeTensors(into: Record<string, ManifestTensor>, r: RankRecord, problems: string[]): void {
  for (const [name, t] of Object.entries(r.tensors)) {
    if (!Object.hasOwn(into, name)) {
      defineEntry(into, name, { dtype: t.dtype, shape: [...t.shape], slabs: [...t.slabs] });
      continue;
    }
    const have = into[name]!;
    if (have.dtype !== t.dtype || have.shape.length !== t.shape.length || have.shape.some((d, i) => d !== t.shape[i])) {
      problems.push(`tensor ${JSON.stringify(name)}: rank ${r.rank} has ${t.dtype}[${t.shape.join(', ')}], an earlier rank ${have.dtype}[${have.shape.join(', ')}]`);
      continue;
    }
    have.slabs.push(...t.slabs);
  }
}
