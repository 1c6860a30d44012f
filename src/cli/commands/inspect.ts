/**
 * `holdfast inspect <store> --step <n> [--json]`: what a checkpoint holds,
 * read from its validated manifest (store.inspect): files, tensors, state
 * keys, provenance. Hashes no data; `holdfast verify` does that.
 */
import type { Manifest } from '../../index.js';
import { parseCommandArgs } from '../args.js';
import type { Command } from '../command.js';
import { openExistingStore } from '../open.js';
import { HELP_OPTION, JSON_OPTION, formatBytes, formatHelp, formatTable, printJson } from '../output.js';

const OPTIONS = { step: { type: 'string' }, json: { type: 'boolean' } } as const;

export const inspectCommand: Command = {
  name: 'inspect',
  summary: "show a checkpoint's files, tensors, state keys and provenance",
  help: formatHelp({
    usage: 'holdfast inspect <store> --step <n> [--json]',
    description: [
      'Reads and validates the manifest of checkpoint <n> and shows its files',
      '(path, size, SHA-256, kind), tensors (name, dtype, shape), the top-level keys',
      'of its training state, provenance, what the save cost and who signed it.',
      'Does not hash file data or check the signature: use',
      '`holdfast verify` for that. Changes nothing on disk.',
      'JSON: {step, version, nonce, createdAt, parent, world, files: [{path, size, hash,',
      'kind, rank}], tensors: [{name, dtype, shape}], stateKeys: [...], provenance,',
      'timing: {pauseMs, writeMs}, signature: {alg, keyId}, encryption: {alg, keyId,',
      'chunkBytes}} (the last three when recorded). Encrypted files show their stored size.',
    ].join('\n'),
    options: [['--step <n>', 'checkpoint to inspect (required)'], JSON_OPTION, HELP_OPTION],
    exitCodes: [
      [0, 'shown'],
      [1, 'no checkpoint <n>, unreadable or invalid manifest, no store, or an I/O error'],
      [2, 'usage error'],
    ],
  }),
  async run(argv, io) {
    const args = parseCommandArgs('inspect', argv, OPTIONS, { required: ['store'] });
    const step = args.requiredInteger('step');
    const store = await openExistingStore('inspect', args.positionals[0]!, io);
    const summary = summarize(await store.inspect(step));
    if (args.flag('json')) {
      printJson(io, summary);
      return 0;
    }
    io.stdout(`checkpoint ${summary.step}  created ${summary.createdAt}  format ${summary.version}  nonce ${summary.nonce}`);
    if (summary.parent !== null) io.stdout(`parent: ${summary.parent}`);
    io.stdout('');
    io.stdout(`files (${summary.files.length}):`);
    const fileRows = summary.files.map((f) => [f.path, formatBytes(f.size), f.kind, f.hash]);
    for (const line of formatTable(['PATH', 'SIZE', 'KIND', 'HASH'], fileRows, [false, true])) io.stdout(`  ${line}`);
    io.stdout('');
    io.stdout(`tensors (${summary.tensors.length}):`);
    const tensorRows = summary.tensors.map((t) => [t.name, t.dtype, `[${t.shape.join(', ')}]`]);
    if (tensorRows.length > 0) for (const line of formatTable(['NAME', 'DTYPE', 'SHAPE'], tensorRows)) io.stdout(`  ${line}`);
    io.stdout('');
    io.stdout(`state keys: ${summary.stateKeys.length === 0 ? '(none)' : summary.stateKeys.join(', ')}`);
    const p = summary.provenance;
    const runtime = p.node === undefined ? '' : `, node ${p.node}${p.platform === undefined ? '' : ` on ${p.platform}`}`;
    io.stdout(`provenance: ${p.library} on ${p.host} by ${p.user} (pid ${p.pid})${runtime}${p.gitCommit ? `, git ${p.gitCommit}` : ''}${p.configHash ? `, config ${p.configHash}` : ''}`);
    if (summary.timing !== undefined) io.stdout(`save cost: paused training ${summary.timing.pauseMs} ms, committed after ${summary.timing.writeMs} ms`);
    io.stdout(summary.signature === undefined ? 'signature: none' : `signature: ${summary.signature.alg} by key ${summary.signature.keyId}`);
    if (summary.encryption !== undefined) io.stdout(`encryption: ${summary.encryption.alg} with key ${summary.encryption.keyId}, records of ${formatBytes(summary.encryption.chunkBytes)}`);
    return 0;
  },
};

function summarize(m: Manifest) {
  const state = m.state;
  const stateKeys = state !== null && typeof state === 'object' && !Array.isArray(state) ? Object.keys(state) : [];
  return {
    step: m.step,
    version: m.version,
    nonce: m.nonce,
    createdAt: m.createdAt,
    parent: m.parent,
    world: m.world,
    files: m.files.map((f) => ({ path: f.path, size: f.size, hash: f.hash, kind: f.kind, rank: f.rank })),
    tensors: Object.entries(m.tensors).map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape })),
    stateKeys,
    provenance: m.provenance,
    timing: m.timing,
    signature: m.signature === undefined ? undefined : { alg: m.signature.alg, keyId: m.signature.keyId },
    encryption: m.encryption,
  };
}
