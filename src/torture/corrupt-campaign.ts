/**
 * Campaign 3, corruption (DESIGN §9, anchors-reliability §3): for each fault
 * variant (corruption/index.ts) and trial, take a fresh copy of the fixture
 * store (three committed checkpoints, in memory), inject one seeded fault,
 * then run the public API as a user would:
 *
 * 1. `verify()` must flag every damaged checkpoint (or not list it: a
 *    directory without a manifest is not a checkpoint) and no other one;
 * 2. `latest()` must name the step the variant expects (the previous one,
 *    usually), quarantining the damaged newer ones on the way;
 * 3. `restore()` must return that step bit-exact (contentDigest equal to
 *    what was saved), or HF_NO_VALID_CHECKPOINT when nothing is left.
 *
 * Benign variants (re-indented manifest, unknown extra files, …) must pass
 * all three untouched: any flag is a false alarm. Every verification of an
 * undamaged checkpoint in any trial also counts toward the false-alarm rate.
 * Undetectable variants (C15 deletion of the newest, a resealed state edit,
 * ) are run and reported, never counted as misses.
 */
import { isHoldfastError } from '../errors.js';
import { MemoryFileSystem } from '../fs/memory-file-system.js';
import { SeededRandom } from '../fs/seeded-random.js';
import { openStore } from '../store/open-store.js';
import type { Store, VerifyLevel } from '../store/types.js';
import type { CampaignOptions, CampaignResult, CampaignRow, Violation } from './campaign.js';
import { FIXTURE_SIGNING, buildCorruptFixture, type CorruptFixture } from './corrupt-fixture.js';
import { FAULT_VARIANTS, type FaultVariant, type InjectedFault } from './corruption/index.js';
import { contentDigest } from './kill-content.js';
import { wilson } from './wilson.js';
import { trialRuntime } from './trial-runtime.js';

/** Classes the research note asks ≥ 2,000 trials of (anchors-reliability §4). */
const KEY_CLASSES = ['C1', 'C3', 'C5', 'C8', 'C12'];
const TRIAL_STREAM = 0x636f7272; // 'corr'

export interface CorruptTrialRecord {
  campaign: 'corrupt';
  variant: string;
  classId: string;
  trial: number;
  seed: number;
  file: string;
  offset: number;
  length: number;
  detail: string;
  /** How verify caught the first damaged checkpoint (a FileProblem reason or `not-listed`), `missed`, or `-` when nothing was damaged. */
  mechanism: string;
  /** Undamaged checkpoints verify flagged. */
  falseAlarms: number[];
  expectedStep: number | null;
  latestStep: number | null;
  restoredStep: number | null;
  /** Restored bytes equal what was saved at `restoredStep`. */
  restoredExact: boolean;
  quarantined: number;
  ok: boolean;
  problem?: string;
}

export interface CorruptCampaignOptions extends CampaignOptions {
  /** Only these variants: exact names, class ids (`C8`) or name prefixes (`bit-flip`). Default all. */
  variants?: string[];
  /** Trials per key class (C1, C3, C5, C8, C12) at least, spread over its variants. Default 0. */
  keyClassFloor?: number;
  /**
   * The store's verification level (default `full`). `sizes` skips hashing, so
   * the campaign must then report misses: the test that proves it has teeth.
   */
  verifyLevel?: VerifyLevel;
  /**
   * Run against the encrypted fixture (corrupt-fixture.ts): every trial's store holds the key, so
   * verify authenticates every record and restore decrypts. Variants with `refusedWhenEncrypted`
   * are judged as `refused` there.
   */
  encrypted?: boolean;
  /**
   * Encrypted only: verify() and latest() run on a store opened without the key (as `holdfast verify`
   * run without it: stored bytes against their digests, no header check), restore() on one with it.
   * Variants that only a header check can catch (`headerCheckOnly`) are skipped, named in the notes.
   */
  keyless?: boolean;
  onTrial?: (record: CorruptTrialRecord) => void;
}

export function selectVariants(filters: readonly string[] | undefined): FaultVariant[] {
  if (filters === undefined || filters.length === 0) return [...FAULT_VARIANTS];
  const chosen = FAULT_VARIANTS.filter((v) => filters.some((f) => v.name === f || v.classId === f || v.name.startsWith(`${f}/`) || v.name.startsWith(f)));
  const unknown = filters.filter((f) => !FAULT_VARIANTS.some((v) => v.name === f || v.classId === f || v.name.startsWith(f)));
  if (unknown.length > 0) throw new RangeError(`unknown corruption class ${unknown.join(', ')}; known: ${FAULT_VARIANTS.map((v) => v.name).join(', ')}`);
  return chosen;
}

/** Trials of each variant: `trials`, raised so each key class reaches `keyClassFloor` in all. */
export function trialsPerVariant(variants: readonly FaultVariant[], trials: number, keyClassFloor = 0): Map<FaultVariant, number> {
  const perClass = new Map<string, number>();
  for (const v of variants) if (v.expectation === 'detect') perClass.set(v.classId, (perClass.get(v.classId) ?? 0) + 1);
  return new Map(
    variants.map((v) => {
      const inClass = perClass.get(v.classId) ?? 1;
      const floor = v.expectation === 'detect' && KEY_CLASSES.includes(v.classId) ? Math.ceil(keyClassFloor / inClass) : 0;
      return [v, Math.max(trials, floor)];
    }),
  );
}

async function runTrial(
  fixture: CorruptFixture,
  pristineDigest: string,
  variant: FaultVariant,
  variantIndex: number,
  trial: number,
  seed: number,
  verify: VerifyLevel,
  keyless: boolean,
): Promise<CorruptTrialRecord> {
  const fs = MemoryFileSystem.fromTree(fixture.tree);
  const rng = new SeededRandom(seed, TRIAL_STREAM, variantIndex, trial);
  const fault: InjectedFault = await variant.inject({ fs, fixture, rng });
  if (variant.expectation !== 'benign' && fs.digest() === pristineDigest) throw new Error(`injector ${variant.name} changed nothing (trial ${trial})`);
  let quarantined = 0;
  const open = (withKey: boolean): Promise<Store> => openStore(fixture.root, { runtime: trialRuntime(),
    fs,
    durability: fixture.durability,
    verify,
    create: false,
    ...(variant.verifiedWithKey === true ? { signing: FIXTURE_SIGNING } : {}),
    ...(withKey && fixture.encryption !== undefined ? { encryption: fixture.encryption } : {}),
    onEvent: (e) => {
      if (e.type === 'quarantined') quarantined += 1;
    },
  });
  const store = await open(true);
  const checker = keyless ? await open(false) : store;
  const record: CorruptTrialRecord = {
    campaign: 'corrupt',
    variant: variant.name,
    classId: variant.classId,
    trial,
    seed,
    file: fault.file,
    offset: fault.offset,
    length: fault.length,
    detail: fault.detail,
    mechanism: '-',
    falseAlarms: [],
    expectedStep: fault.expectedStep,
    latestStep: null,
    restoredStep: null,
    restoredExact: false,
    quarantined: 0,
    ok: false,
  };
  const problems: string[] = [];
  if (variant.expectation === 'refused') problems.push(...(await refusalProblems(store, record)));
  else problems.push(...(await rollbackProblems(checker, store, fixture, fault, record)));
  record.quarantined = quarantined;
  if (variant.expectation === 'refused' && quarantined > 0) problems.push(`${quarantined} checkpoint(s) quarantined: HF_KEY must never quarantine`);
  // Undetectable variants are judged on the step only: a resealed state edit restores the edited state by design.
  record.ok = variant.expectation === 'undetectable'
    ? record.latestStep === fault.expectedStep && record.restoredStep === fault.expectedStep
    : problems.length === 0;
  if (problems.length > 0) record.problem = problems.join('; ');
  return record;
}

/** verify must flag exactly the damaged steps; latest and restore must roll back to the expected step, bit-exact. */
async function rollbackProblems(checker: Store, store: Store, fixture: CorruptFixture, fault: InjectedFault, record: CorruptTrialRecord): Promise<string[]> {
  const problems: string[] = [];
  try {
    const reports = new Map((await checker.verify()).map((r) => [r.step, r]));
    const caughtBy = fault.damaged.map((step) => {
      const r = reports.get(step);
      return r === undefined ? 'not-listed' : r.ok ? 'missed' : r.problems[0]!.reason;
    });
    if (caughtBy.length > 0) record.mechanism = caughtBy.includes('missed') ? 'missed' : caughtBy[0]!;
    if (caughtBy.includes('missed')) problems.push(`verify passed damaged step(s) ${fault.damaged.filter((_, i) => caughtBy[i] === 'missed').join(', ')}`);
    for (const r of reports.values()) if (!fault.damaged.includes(r.step) && !r.ok) record.falseAlarms.push(r.step);
    if (record.falseAlarms.length > 0) problems.push(`verify flagged undamaged step(s) ${record.falseAlarms.join(', ')}: ${reports.get(record.falseAlarms[0]!)!.problems[0]!.message}`);
    record.latestStep = (await checker.latest())?.step ?? null;
    if (record.latestStep !== fault.expectedStep) problems.push(`latest() returned ${record.latestStep}, expected ${fault.expectedStep}`);
    try {
      const restored = await store.restore();
      record.restoredStep = restored.step;
      const saved = fixture.checkpoints.find((c) => c.step === restored.step)?.digest;
      record.restoredExact = saved !== undefined && contentDigest(restored.tensors, restored.state) === saved;
    } catch (e) {
      if (!isHoldfastError(e, 'HF_NO_VALID_CHECKPOINT')) throw e;
    }
    if (record.restoredStep !== fault.expectedStep) problems.push(`restore() returned ${record.restoredStep ?? 'nothing'}, expected ${fault.expectedStep ?? 'nothing'}`);
    else if (record.restoredStep !== null && !record.restoredExact) problems.push(`restore() returned step ${record.restoredStep} with bytes that differ from what was saved`);
  } catch (e) {
    problems.push(`the API threw instead of reporting: ${(e as Error).message}`);
  }
  return problems;
}

/** A `refused` variant: verify, latest and restore must each throw HF_KEY (not report, not roll back). */
async function refusalProblems(store: Store, record: CorruptTrialRecord): Promise<string[]> {
  const problems: string[] = [];
  const calls: [string, () => Promise<unknown>][] = [['verify', () => store.verify()], ['latest', () => store.latest()], ['restore', () => store.restore()]];
  for (const [name, call] of calls) {
    try {
      await call();
      problems.push(`${name}() returned instead of refusing with HF_KEY`);
    } catch (e) {
      if (!isHoldfastError(e, 'HF_KEY')) problems.push(`${name}() threw ${isHoldfastError(e) ? e.code : 'a non-Holdfast error'} instead of HF_KEY: ${(e as Error).message}`);
    }
  }
  record.mechanism = problems.length === 0 ? 'HF_KEY' : 'not-refused';
  return problems;
}

interface VariantTally {
  variant: FaultVariant;
  trials: number;
  ok: number;
  outcomes: Record<string, number>;
}

function add(outcomes: Record<string, number>, key: string, n = 1): void {
  outcomes[key] = (outcomes[key] ?? 0) + n;
}

function tally(t: VariantTally, r: CorruptTrialRecord): void {
  t.trials += 1;
  if (r.ok) t.ok += 1;
  const rollbackOk = r.latestStep === r.expectedStep && r.restoredStep === r.expectedStep && (r.expectedStep === null || r.restoredExact);
  if (t.variant.expectation === 'detect') {
    add(t.outcomes, r.mechanism);
    add(t.outcomes, rollbackOk ? 'rollback:ok' : 'rollback:wrong');
    if (r.falseAlarms.length > 0) add(t.outcomes, 'false-alarm:collateral');
  } else if (t.variant.expectation === 'refused') {
    add(t.outcomes, r.mechanism);
    add(t.outcomes, r.quarantined === 0 ? 'nothing-quarantined' : 'quarantined');
  } else if (t.variant.expectation === 'benign') {
    add(t.outcomes, r.falseAlarms.length > 0 ? 'false-alarm' : 'no-alarm');
    add(t.outcomes, rollbackOk ? 'restore:newest-exact' : 'restore:wrong');
  } else {
    add(t.outcomes, r.falseAlarms.length > 0 || r.quarantined > 0 ? 'flagged' : 'not-flagged');
    add(t.outcomes, `restored:${r.restoredStep ?? 'nothing'}${r.restoredStep !== null && !r.restoredExact ? ' (content differs from the save)' : ''}`);
  }
}

const LABELS = {
  detect: 'detected by verify, and latest/restore rolled back to the expected step bit-exact',
  benign: 'not flagged, and restore returned the newest checkpoint bit-exact',
  undetectable: 'restore returned the expected step without complaint (undetectable by design: reported, not a miss)',
  refused: 'verify, latest and restore each refused with HF_KEY, nothing quarantined (encrypted fixture: by design, no rollback)',
};

export async function runCorruptCampaign(options: CorruptCampaignOptions): Promise<CampaignResult> {
  const started = performance.now();
  const durability = options.modes[0] ?? 'atomic_dirsync';
  const encrypted = options.encrypted === true;
  const fixture = await buildCorruptFixture(options.seed, durability, { encrypted });
  const pristineDigest = MemoryFileSystem.fromTree(fixture.tree).digest();
  const keyless = encrypted && options.keyless === true;
  const selected = selectVariants(options.variants);
  const skipped = keyless ? selected.filter((v) => v.headerCheckOnly === true) : [];
  const variants = selected.filter((v) => !skipped.includes(v)).map((v): FaultVariant => (encrypted && v.refusedWhenEncrypted !== undefined ? { ...v, expectation: 'refused' } : v));
  const counts = trialsPerVariant(variants, options.trials, options.keyClassFloor ?? 0);
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  const tallies: VariantTally[] = [];
  const violations: Violation[] = [];
  let cleanVerifications = 0;
  let falseAlarms = 0;
  let done = 0;
  for (const variant of variants) {
    const variantIndex = FAULT_VARIANTS.findIndex((v) => v.name === variant.name);
    const t: VariantTally = { variant, trials: 0, ok: 0, outcomes: {} };
    tallies.push(t);
    const n = counts.get(variant)!;
    for (let trial = 0; trial < n; trial++) {
      const r = await runTrial(fixture, pristineDigest, variant, variantIndex, trial, options.seed, options.verifyLevel ?? 'full', keyless);
      tally(t, r);
      cleanVerifications += cleanCount(fixture, variant, r);
      falseAlarms += r.falseAlarms.length;
      if (!r.ok && variant.expectation !== 'undetectable') {
        violations.push({
          group: variant.name,
          trial,
          seed: options.seed,
          description: `${variant.name}: ${r.file} offset ${r.offset} length ${r.length} (${r.detail}): ${r.problem ?? 'failed'}`,
          replay: `holdfast torture corrupt --seed ${options.seed} --class ${variant.name} --trials ${trial + 1}${encrypted ? ' --encrypted' : ''}${keyless ? ' --keyless' : ''}`,
        });
      }
      options.onTrial?.(r);
      done += 1;
      if (done % 25 === 0 || done === total) options.onProgress?.(done, total, `corrupt ${variant.name}`);
    }
  }
  return {
    campaign: 'corrupt',
    seed: options.seed,
    rows: corruptRows(tallies, cleanVerifications, falseAlarms),
    violations,
    counters: {
      trials: done,
      faultTrials: tallies.filter((t) => t.variant.expectation === 'detect').reduce((s, t) => s + t.trials, 0),
      benignTrials: tallies.filter((t) => t.variant.expectation === 'benign').reduce((s, t) => s + t.trials, 0),
      undetectableTrials: tallies.filter((t) => t.variant.expectation === 'undetectable').reduce((s, t) => s + t.trials, 0),
      cleanVerifications,
      falseAlarms,
      variants: variants.length,
    },
    notes: [...corruptNotes(), ...(encrypted ? encryptedNotes(variants, skipped) : [])],
    durationMs: Math.round(performance.now() - started),
  };
}

/** Verifications of checkpoints the fault left undamaged and listed, in one trial. */
function cleanCount(fixture: CorruptFixture, variant: FaultVariant, r: CorruptTrialRecord): number {
  // 100 and 300 (200 was moved to 400); for undetectable variants, the two older ones.
  if (variant.expectation === 'refused') return 0;
  if (variant.name === 'rollback/older-renamed-newer' || variant.expectation === 'undetectable') return fixture.checkpoints.length - 1;
  if (variant.expectation === 'benign') return fixture.checkpoints.length;
  if (r.expectedStep === null) return 0;
  // Damaged steps are the newest one (or the two newest, for a two-way swap); the rest are clean.
  return fixture.checkpoints.filter((c) => c.step <= r.expectedStep!).length;
}

function corruptRows(tallies: VariantTally[], cleanVerifications: number, falseAlarms: number): CampaignRow[] {
  const rows: CampaignRow[] = tallies.map((t) => ({
    group: t.variant.name,
    fault: t.variant.classId,
    trials: t.trials,
    outcomes: t.outcomes,
    guarantee: wilson(t.ok, t.trials),
    guaranteeLabel: LABELS[t.variant.expectation],
    required: t.variant.expectation !== 'undetectable',
  }));
  const detect = tallies.filter((t) => t.variant.expectation === 'detect');
  const byClass = new Map<string, VariantTally[]>();
  for (const t of detect) byClass.set(t.variant.classId, [...(byClass.get(t.variant.classId) ?? []), t]);
  for (const [classId, ts] of byClass) {
    if (ts.length < 2) continue;
    rows.push(aggregate(`${classId} · all ${ts.length} variants`, classId, ts, LABELS.detect));
  }
  if (detect.length > 0) rows.push(aggregate('all faults', undefined, detect, LABELS.detect));
  const benignTallies = tallies.filter((t) => t.variant.expectation === 'benign');
  if (benignTallies.length > 0) rows.push(aggregate('all benign variants', 'benign', benignTallies, LABELS.benign));
  if (cleanVerifications > 0) {
    rows.push({
      group: 'undamaged checkpoints (every trial)',
      fault: 'false alarms',
      trials: cleanVerifications,
      outcomes: { 'no-alarm': cleanVerifications - falseAlarms, 'false-alarm': falseAlarms },
      guarantee: wilson(cleanVerifications - falseAlarms, cleanVerifications),
      guaranteeLabel: 'verifications of undamaged checkpoints that passed (no false alarm)',
      required: true,
    });
  }
  return rows;
}

function aggregate(group: string, fault: string | undefined, ts: VariantTally[], label: string): CampaignRow {
  const outcomes: Record<string, number> = {};
  for (const t of ts) for (const [k, v] of Object.entries(t.outcomes)) add(outcomes, k, v);
  const trials = ts.reduce((s, t) => s + t.trials, 0);
  const ok = ts.reduce((s, t) => s + t.ok, 0);
  return { group, ...(fault !== undefined ? { fault } : {}), trials, outcomes, guarantee: wilson(ok, trials), guaranteeLabel: label, required: true };
}

function encryptedNotes(ran: readonly FaultVariant[], skipped: readonly FaultVariant[]): string[] {
  return [
    'Encrypted fixture: the same checkpoints saved with an encryption key (each shard one AES-256-GCM record: ciphertext at the plaintext offsets, then its 16-byte tag); every trial\'s store holds the key, so verify authenticates every record and restore decrypts and is compared with what was saved. Injectors damage stored (cipher) bytes; header-edit/* decrypts, edits and re-seals with the key (a writer bug holding it), so only the header checks can catch it.',
    ...(skipped.length > 0 ? [`Keyless: verify() and latest() ran on a store without the key (stored bytes against their digests), restore() on one with it; skipped, as only the shard header check (which needs the key) can catch them: ${skipped.map((v) => v.name).join(', ')}.`] : []),
    ...ran.filter((v) => v.expectation === 'refused').map((v) => `refused, not rolled back, on the encrypted fixture (verify, latest and restore all with the key): ${v.name}: ${v.refusedWhenEncrypted!}`),
  ];
}

function corruptNotes(): string[] {
  return [
    'Fixture: three committed checkpoints (steps 100, 200, 300) of four safetensors shards each, in memory; each trial starts from a fresh copy, injects one seeded fault into step 300 (unless the variant says otherwise), then runs verify(), latest() and restore().',
    'Outcome keys of fault rows name how verify caught the damage (the first FileProblem reason, or not-listed when the directory no longer has a manifest and so is no checkpoint); rollback:ok means latest() and restore() both returned the expected step, bit-exact.',
    '"+resealed" / "+rehashed" variants rewrite the manifest consistently (manifestHash, or a file\'s hash, recomputed): they show that the size, header and __metadata__ checks catch what a consistent writer bug would leave, not only the manifest hash.',
    'Undetectable by design, reported and not counted as misses: deleting the newest checkpoint whole (C15: needs an external high-water mark), a training-state edit with manifestHash recomputed (tampering: needs a key, HMAC or signature).',
    'Unknown extra files inside a checkpoint directory are ignored, not flagged: the manifest is the whole definition of a checkpoint, and restore reads only what it names.',
  ];
}
