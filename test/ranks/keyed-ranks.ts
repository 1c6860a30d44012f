/**
 * Runs the rank processes of a keyed multi-rank save (keyed-rank-child.ts): one per entry of
 * `envs`, each with the key variables given there and no other HOLDFAST_* key variable of this
 * process's environment; their results by rank.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { KeyedRankConfig, KeyedRankResult } from './keyed-rank-child.js';

const CHILD = fileURLToPath(new URL('./keyed-rank-child.js', import.meta.url));
const KEY_VARIABLES = /^HOLDFAST_(ENCRYPTION_KEY|HMAC_KEY|SIGNING_KEY|VERIFY_KEY)/;

export type RankRun = Omit<KeyedRankConfig, 'rank' | 'worldSize'>;

export function runKeyedRanks(run: RankRun, envs: NodeJS.ProcessEnv[]): Promise<KeyedRankResult[]> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !KEY_VARIABLES.test(name)));
  return Promise.all(
    envs.map((keys, rank) => {
      const config: KeyedRankConfig = { ...run, rank, worldSize: envs.length };
      return new Promise<KeyedRankResult>((resolve, reject) => {
        const child = spawn(process.execPath, [CHILD, JSON.stringify(config)], { env: { ...base, ...keys }, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (out += d.toString()));
        child.on('error', reject);
        child.on('exit', (code) => {
          const line = /^result (.*)$/m.exec(out);
          if (code !== 0 || line === null) reject(new Error(`rank ${rank} exited ${code} without a result: ${out}`));
          else resolve(JSON.parse(line[1]!) as KeyedRankResult);
        });
      });
    }),
  );
}

export function assertAllCommitted(results: KeyedRankResult[]): void {
  for (const r of results) assert.equal(r.outcome, 'committed', `rank ${r.rank}: ${r.code}: ${r.message}`);
}
