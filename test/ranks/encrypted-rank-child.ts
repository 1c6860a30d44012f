// One rank process of the encrypted multi-rank tests: `node encrypted-rank-child.js <json config>`.
// It opens the store as rank `rank` of `worldSize` with the key the environment names
// (HOLDFAST_ENCRYPTION_KEY, read by `encryptionFromEnv` as the CLI does; none: a plain store),
// saves `step` with the test content and prints one line `result <json>`. With `resume`, every rank
// first restores the newest checkpoint, as a restarted job does (the leader records its epoch as
// resumed from it), and reports the step and whether its tensors were the expected ones.
import { encryptionFromEnv, isHoldfastError, openStore } from '../../src/index.js';
import { firstDifference } from '../../src/torture/ranks-content.js';
import { encryptedContent, encryptedRankInput } from './encrypted-content.js';

export interface EncryptedRankConfig {
  where: string;
  rank: number;
  worldSize: number;
  attempt: string;
  step: number;
  seed: number;
  /** Restore first; the checkpoint found must be `resume.step`, saved by `resume.worldSize` ranks. */
  resume?: { step: number; worldSize: number };
}

export interface EncryptedRankResult {
  rank: number;
  outcome: 'committed' | 'rejected';
  code?: string;
  message?: string;
  /** With `resume`: what the restore found, and the first tensor that differed from the expected content. */
  resumed?: { step: number; difference: string | null };
}

const config = JSON.parse(process.argv[2] ?? '{}') as EncryptedRankConfig;
const encryption = encryptionFromEnv();
const store = await openStore(config.where, { rank: config.rank, worldSize: config.worldSize, attempt: config.attempt, deadlineMs: 60_000, commitMarginMs: 20_000, ...(encryption === undefined ? {} : { encryption }) });
let result: EncryptedRankResult;
let resumed: EncryptedRankResult['resumed'];
try {
  if (config.resume !== undefined) {
    const r = await store.restore();
    resumed = { step: r.step, difference: firstDifference(r.tensors, encryptedContent(config.seed, config.resume.step, config.resume.worldSize).tensors) ?? null };
  }
  const content = encryptedContent(config.seed, config.step, config.worldSize);
  await store.save(config.step, encryptedRankInput(content, config.rank, config.worldSize));
  result = { rank: config.rank, outcome: 'committed', ...(resumed === undefined ? {} : { resumed }) };
} catch (e) {
  result = { rank: config.rank, outcome: 'rejected', ...(resumed === undefined ? {} : { resumed }), code: isHoldfastError(e) ? e.code : 'unexpected', message: e instanceof Error ? e.message : String(e) };
} finally {
  await store.close();
}
process.stdout.write(`result ${JSON.stringify(result)}\n`);
