/**
 * A tiered store (`openStore({ local, durable })`): saves commit to the local
 * store under its own protocol and return; each committed checkpoint is then
 * copied to the durable store in the background (`copyCheckpoint`: re-read
 * and re-verified against the local manifest, committed with the durable
 * store's exclusive commit under its writer lease). Training never waits for
 * an upload; `flush()` and `close()` do.
 *
 * Nothing about tiers is recorded anywhere but in the two stores: a
 * checkpoint is durable iff the durable store holds its manifest
 * (tier-state.ts). So a process killed mid-upload leaves a valid local
 * checkpoint and a resumable upload, which `sync()` (`holdfast sync`), or
 * the next open in `background` mode, finishes.
 *
 * Restore prefers the local copy and falls back to the durable one when the
 * local copy is missing or fails verification, before rolling back
 * (tiered-restore.ts).
 */
import { posix as path } from 'node:path';
import { HoldfastError, isHoldfastError } from '../errors.js';
import type { VerifyKey } from '../format/manifest-signature.js';
import { PosixFileSystem } from '../fs/posix-file-system.js';
import { loadManifestTrust } from './signing-keys.js';
import { loadEncryptionKey } from './encryption-keys.js';
import type { EncryptionKey } from '../format/chunk-cipher.js';
import { checkpointOpener, type Decryption } from '../restore/decrypt-file.js';
import type { Manifest } from '../format/manifest-types.js';
import { assertValidStep } from '../format/names.js';
import { IoRuntime } from '../io/io-runtime.js';
import { decodeTensors } from '../restore/decode-tensors.js';
import type { ValidCheckpoint } from '../restore/find-valid.js';
import type { CheckpointStorage } from '../storage/checkpoint-storage.js';
import { copyCheckpoint } from './copy-checkpoint.js';
import { copyOutVerified } from './copy-out.js';
import { openStorage, openStore } from './open-store.js';
import { listTiers } from './tier-state.js';
import { gcTiers, type TieredGcContext } from './tiered-gc.js';
import { findValidTiered } from './tiered-restore.js';
import type {
  AsyncSaveHandle,
  CheckpointInfo,
  GcOptions,
  GcResult,
  IntervalAdvice,
  IntervalOptions,
  LatestResult,
  RestoreOptions,
  RestoreResult,
  SaveAsyncOptions,
  SaveInput,
  SaveOptions,
  SaveResult,
  Store,
  StoreOptions,
  Tag,
  TieredStore,
  TieredWhere,
  UploadReport,
  VerifyReport,
} from './types.js';

export async function openTieredStore(where: TieredWhere, options: StoreOptions): Promise<TieredStore> {
  if (typeof where.local !== 'string' || where.local.length === 0) throw new HoldfastError('HF_INVALID_ARG', 'a tiered store needs { local: <directory>, durable: <store> }');
  if (where.local.startsWith('s3://')) throw new HoldfastError('HF_INVALID_ARG', `the local tier must be a directory, got ${where.local}`);
  const upload = where.upload ?? 'background';
  if (upload !== 'background' && upload !== 'manual') throw new HoldfastError('HF_INVALID_ARG', `upload must be "background" or "manual", got ${JSON.stringify(upload)}`);
  const verifyKeys = options.signing === undefined ? undefined : (await loadManifestTrust(options.fs ?? new PosixFileSystem(), options.signing)).verify;
  const encryptionKeys = options.encryption === undefined ? [] : [await loadEncryptionKey(options.fs ?? new PosixFileSystem(), options.encryption)];
  const io = options.runtime ?? new IoRuntime();
  const opened: CheckpointStorage[] = [];
  try {
    const localStorage = await openStorage(where.local, options);
    opened.push(localStorage);
    const durableStorage = await openStorage(where.durable, { ...options, create: options.create });
    if (durableStorage !== where.durable) opened.push(durableStorage);
    // Retention runs across both tiers (tiered-gc.ts), never in one tier alone.
    const { retention: _retention, ...perTier } = options;
    const tiered = new Tiered(
      await openStore({ storage: localStorage }, { ...perTier, runtime: io }),
      await openStore({ storage: durableStorage }, { ...perTier, runtime: io }),
      localStorage,
      durableStorage,
      { io, ownsIo: options.runtime === undefined, ownsDurable: durableStorage !== where.durable, upload, options, verifyKeys, encryptionKeys },
    );
    if (upload === 'background') tiered.resumeInBackground();
    return tiered;
  } catch (e) {
    for (const s of opened) await s.close?.();
    if (options.runtime === undefined) await io.close();
    throw e;
  }
}

interface TieredSettings {
  io: IoRuntime;
  ownsIo: boolean;
  ownsDurable: boolean;
  upload: 'background' | 'manual';
  options: StoreOptions;
  /** The keys a checkpoint must be signed by (StoreOptions.signing), checked in either tier. */
  verifyKeys: readonly VerifyKey[] | undefined;
  /** The key encrypted checkpoints are opened with (StoreOptions.encryption), in either tier. */
  encryptionKeys: readonly EncryptionKey[];
}

class Tiered implements TieredStore {
  readonly root: string;
  readonly durableRoot: string;
  /** Steps queued or being uploaded by this process, in order. */
  private readonly queued: number[] = [];
  private readonly uploadingHere = new Set<number>();
  /** Steps this process uploaded (every byte re-read, verified and checked on arrival). */
  private readonly uploadedHere = new Set<number>();
  /** The upload chain: one checkpoint at a time. */
  private chain: Promise<void> = Promise.resolve();
  /** The open-time search for checkpoints the durable tier lacks (it queues them). */
  private discovery: Promise<void> = Promise.resolve();
  private report: UploadReport = { results: [], failed: [] };

  constructor(
    private readonly local: Store,
    private readonly durable: Store,
    private readonly localStorage: CheckpointStorage,
    private readonly durableStorage: CheckpointStorage,
    private readonly settings: TieredSettings,
  ) {
    this.root = local.root;
    this.durableRoot = durable.root;
  }

  get fs(): Store['fs'] {
    return this.local.fs;
  }

  async save(step: number, input: SaveInput, options?: SaveOptions): Promise<SaveResult> {
    const result = await this.local.save(step, input, options);
    this.afterCommit(step);
    return result;
  }

  saveAsync(step: number, input: SaveInput, options?: SaveAsyncOptions): AsyncSaveHandle {
    const handle = this.local.saveAsync(step, input, options);
    handle.committed.then(() => this.afterCommit(step), () => undefined);
    return handle;
  }

  async commitFiles(step: number, paths: string[], options?: SaveOptions): Promise<SaveResult> {
    const result = await this.local.commitFiles(step, paths, options);
    this.afterCommit(step);
    return result;
  }

  async restore(which?: number | RestoreOptions): Promise<RestoreResult> {
    if (typeof which === 'object' && which !== null) return this.restoreWithOptions(which);
    const found = await this.find(which, true);
    const manifest = found.check.manifest!;
    const tensors = decodeTensors(manifest, found.check.bytesByFile, found.location);
    return { step: found.step, path: found.location, manifest, tensors, state: manifest.state, skipped: found.skipped };
  }

  async latest(): Promise<LatestResult | null> {
    try {
      const found = await this.find(undefined, false);
      return { step: found.step, path: found.location, skipped: found.skipped };
    } catch (e) {
      if (e instanceof HoldfastError && e.code === 'HF_NO_VALID_CHECKPOINT') return null;
      throw e;
    }
  }

  async list(): Promise<CheckpointInfo[]> {
    const [infos, tags] = await Promise.all([listTiers(this.localStorage, this.durableStorage, this.uploadingHere), this.local.tags()]);
    return infos.map((info) => ({ ...info, tags: tags.filter((t) => t.step === info.step).map((t) => t.name) }));
  }

  /** Tags live in the local tier, beside the retention that honours them. */
  tag(step: number, name: string): Promise<void> {
    return this.local.tag(step, name);
  }

  untag(name: string): Promise<number> {
    return this.local.untag(name);
  }

  tags(): Promise<Tag[]> {
    return this.local.tags();
  }

  /** Both tiers' copies; a report's path says which tier it is. */
  async verify(step?: number): Promise<VerifyReport[]> {
    const inTier = async (store: Store): Promise<VerifyReport[]> => {
      if (step === undefined) return store.verify();
      assertValidStep(step);
      return (await store.list()).some((c) => c.step === step) ? store.verify(step) : [];
    };
    const reports = [...(await inTier(this.local)), ...(await inTier(this.durable))];
    if (step !== undefined && reports.length === 0) throw new HoldfastError('HF_NOT_FOUND', `no committed checkpoint for step ${step} in ${this.root} or ${this.durableRoot}`, { path: this.root });
    return reports.sort((a, b) => a.step - b.step);
  }

  async restoreFiles(step: number | undefined, toDir: string): Promise<{ step: number; files: string[] }> {
    const found = await this.find(step, false);
    const opener = checkpointOpener(found.check.manifest!, this.decryption(), found.location, true);
    const files = await copyOutVerified(this.local.fs, found.reader, found.check.manifest!.files, path.resolve(toDir), opener);
    return { step: found.step, files };
  }

  async inspect(step: number): Promise<Manifest> {
    assertValidStep(step);
    return (await this.localStorage.open(step)) !== undefined ? this.local.inspect(step) : this.durable.inspect(step);
  }

  /** Retention on both tiers (tiered-gc.ts), once the uploads queued so far have settled. */
  async gc(options: GcOptions): Promise<GcResult> {
    await this.settled();
    return gcTiers(this.gcContext(), options);
  }

  async flush(): Promise<UploadReport> {
    await this.settled();
    const report = this.report;
    this.report = { results: [], failed: [] };
    if (report.failed.length > 0) {
      const list = report.failed.map((f) => `${f.step < 0 ? 'finding what to upload' : `step ${f.step}`}: ${f.message}`).join('; ');
      throw new HoldfastError('HF_IO', `upload to ${this.durableRoot} failed for ${report.failed.length} checkpoint(s) (each stays valid in ${this.root}; \`holdfast sync\` resumes): ${list}`, { path: this.durableRoot, data: { ...report } });
    }
    return report;
  }

  async sync(): Promise<UploadReport> {
    await this.enqueueMissing();
    return this.flush();
  }

  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      await this.local.close();
      if (this.settings.ownsDurable) await this.durable.close();
      if (this.settings.ownsIo) await this.settings.io.close();
    }
  }

  /** At open: uploads an earlier process left unfinished (or never began) go on in the background. */
  resumeInBackground(): void {
    // Step -1 in the report: the listing itself failed, not one checkpoint.
    this.discovery = this.enqueueMissing().catch((e: unknown) => this.recordFailure(-1, e));
  }

  /** Until no upload is queued or running (uploads queued meanwhile included). */
  private async settled(): Promise<void> {
    await this.discovery;
    for (let c = this.chain; ; c = this.chain) {
      await c;
      if (c === this.chain) return;
    }
  }

  private afterCommit(step: number): void {
    if (this.settings.upload === 'background') this.enqueue(step);
    else this.chain = this.chain.then(() => this.retainAfter(step, true));
  }

  /**
   * `StoreOptions.retention` after a checkpoint was committed locally (manual uploads) or uploaded
   * (background): both tiers, without sweeping. The save already succeeded: a failure is a warning.
   */
  private async retainAfter(step: number, localOnly = false): Promise<void> {
    const { retention, onEvent } = this.settings.options;
    if (retention === undefined) return;
    try {
      const result = await gcTiers(this.gcContext(), { ...retention }, { sweep: false, knownValid: new Set([...this.uploadedHere, step]), localOnly });
      const removedSteps = [...new Set([...result.removedSteps, ...(result.durable?.removedSteps ?? [])])].sort((a, b) => a - b);
      if (removedSteps.length > 0) onEvent?.({ type: 'retention', afterStep: step, removedSteps });
    } catch (e) {
      onEvent?.({ type: 'warning', message: `retention after step ${step} failed (the checkpoint itself is committed): ${e instanceof Error ? e.message : String(e)}` });
    }
  }

  private gcContext(): TieredGcContext {
    const { io, options } = this.settings;
    return {
      local: { store: this.local, storage: this.localStorage },
      durable: { store: this.durable, storage: this.durableStorage },
      uploadingHere: this.uploadingHere,
      io,
      level: options.verify ?? 'full',
      lease: options.lease,
    };
  }

  /** Every local step the durable tier lacks, newest first (the one a restore wants most). */
  private async enqueueMissing(): Promise<void> {
    const tiers = await this.list();
    const missing = tiers.filter((c) => c.tier === 'local' || c.tier === 'uploading').map((c) => c.step);
    for (const step of missing.reverse()) this.enqueue(step);
  }

  private enqueue(step: number): void {
    if (this.queued.includes(step)) return;
    this.queued.push(step);
    this.chain = this.chain.then(() => this.upload(step));
  }

  private async upload(step: number): Promise<void> {
    this.uploadingHere.add(step);
    try {
      const onEvent = this.settings.options.onEvent;
      const result = await copyCheckpoint(this.localStorage, this.durableStorage, step, {
        io: this.settings.io,
        ...(this.settings.options.lease === undefined ? {} : { lease: this.settings.options.lease }),
        onProgress: onEvent === undefined ? undefined : (p) => onEvent({ type: 'progress', phase: `upload ${step}`, doneBytes: p.doneBytes, totalBytes: p.totalBytes }),
      });
      this.report.results.push(result);
      if (result.outcome === 'copied') this.uploadedHere.add(step);
    } catch (e) {
      this.recordFailure(step, e);
    } finally {
      this.uploadingHere.delete(step);
      this.queued.splice(this.queued.indexOf(step), 1);
    }
    await this.retainAfter(step);
  }

  private recordFailure(step: number, e: unknown): void {
    const code = e instanceof HoldfastError ? e.code : 'INTERNAL';
    this.report.failed.push({ step, code, message: e instanceof Error ? e.message : String(e) });
  }

  /** Into the caller's arrays or by layout: the local tier's restore, else the durable tier's (whole-tier fallback, not per step). */
  private async restoreWithOptions(options: RestoreOptions): Promise<RestoreResult> {
    try {
      return await this.local.restore(options);
    } catch (e) {
      if (!isHoldfastError(e, 'HF_NO_VALID_CHECKPOINT') && !isHoldfastError(e, 'HF_NOT_FOUND') && !isHoldfastError(e, 'HF_CORRUPT')) throw e;
      return this.durable.restore(options);
    }
  }

  adviseInterval(options: IntervalOptions): Promise<IntervalAdvice> {
    return this.local.adviseInterval(options);
  }

  warm(stateBytes?: number): Promise<void> {
    return this.local.warm(stateBytes);
  }

  private find(step: number | undefined, keepBytes: boolean): Promise<ValidCheckpoint> {
    if (step !== undefined) assertValidStep(step);
    const { options, io, verifyKeys } = this.settings;
    return findValidTiered({ tiers: [this.localStorage, this.durableStorage], io, level: options.verify ?? 'full', verifyKeys, onEvent: options.onEvent, decryption: this.decryption() }, keepBytes, step);
  }

  private decryption(): Decryption {
    return { keys: this.settings.encryptionKeys, ciphers: this.settings.io.ciphers };
  }
}
