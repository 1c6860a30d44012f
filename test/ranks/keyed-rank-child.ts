// One rank process of the keyed multi-rank tests: `node keyed-rank-child.js <json config>`. It opens
// the store as rank `rank` of `worldSize` with the keys its environment names, read as the CLI reads
// them (`encryptionFromEnv`: HOLDFAST_ENCRYPTION_KEY…; `signingFromEnv`: HOLDFAST_HMAC_KEY,
// HOLDFAST_SIGNING_KEY_FILE, HOLDFAST_VERIFY_KEY_FILE…; none: a plain store), saves `step` with the
// test content (`big`: with the multi-record tensor of encrypted-content.ts) and prints one line
// `result <json>`. With `resume`, every rank first restores the newest checkpoint, as a restarted job
// does (the leader records its epoch as resumed from it), and reports the step and whether its
// tensors were the expected ones.
import { encryptionFromEnv, isHoldfastError, openStore, signingFromEnv } from '../../src/index.js';
import { firstDifference, globalContent, rankInput } from '../../src/torture/ranks-content.js';
import { encryptedContent, encryptedRankInput } from './encrypted-content.js';

export interface KeyedRankConfig {
  where: string;
  rank: number;
  worldSize: number;
  attempt: string;
  step: number;
  seed: number;
  /** Save encrypted-content.ts's content (a tensor of several 8 MiB records per rank); else the small torture content. */
  big: boolean;
  /** Restore first; the checkpoint found must be `resume.step`, saved by `resume.worldSize` ranks. */
  resume?: { step: number; worldSize: number };
}

export interface KeyedRankResult {
  rank: number;
  outcome: 'committed' | 'rejected';
  code?: string;
  message?: string;
  /** With `resume`: what the restore found, and the first tensor that differed from the expected content. */
  resumed?: { step: number; difference: string | null };
}

const config = JSON.parse(process.argv[2] ?? '{}') as KeyedRankConfig;
const content = (step: number, worldSize: number) => (config.big ? encryptedContent(config.seed, step, worldSize) : globalContent(config.seed, step, worldSize));
const encryption = encryptionFromEnv();
const signing = signingFromEnv();
const store = await openStore(config.where, {
  rank: config.rank,
  worldSize: config.worldSize,
  attempt: config.attempt,
  deadlineMs: 60_000,
  commitMarginMs: 20_000,
  ...(encryption === undefined ? {} : { encryption }),
  ...(signing === undefined ? {} : { signing }),
});
let result: KeyedRankResult;
let resumed: KeyedRankResult['resumed'];
try {
  if (config.resume !== undefined) {
    const r = await store.restore();
    resumed = { step: r.step, difference: firstDifference(r.tensors, content(config.resume.step, config.resume.worldSize).tensors) ?? null };
  }
  const saved = content(config.step, config.worldSize);
  await store.save(config.step, config.big ? encryptedRankInput(saved, config.rank, config.worldSize) : rankInput(saved, config.rank, config.worldSize));
  result = { rank: config.rank, outcome: 'committed', ...(resumed === undefined ? {} : { resumed }) };
} catch (e) {
  result = { rank: config.rank, outcome: 'rejected', ...(resumed === undefined ? {} : { resumed }), code: isHoldfastError(e) ? e.code : 'unexpected', message: e instanceof Error ? e.message : String(e) };
} finally {
  await store.close();
}
process.stdout.write(`result ${JSON.stringify(result)}\n`);
