/**
 * The Node flags a Holdfast worker thread starts with. Contract: a worker gets
 * only the host's module-loading flags (`--import`, `--require`/`-r`,
 * `--loader`/`--experimental-loader`, `--conditions`/`-C`) and its
 * warning switches, taken from both `process.execArgv` and `NODE_OPTIONS`, in
 * their original order; every other flag is dropped.
 *
 * Why: a worker inherits the parent's execArgv and NODE_OPTIONS unless told
 * otherwise, and some flags that are valid for the host are fatal to a worker
 * started from a file (`node --input-type=module -e …` made every hashing
 * worker die with ERR_INPUT_TYPE_NOT_ALLOWED, issue 15). The hash worker
 * itself needs no flag at all (it imports only `node:` builtins), but a host
 * may need a loader to read the library's own files (Yarn PnP's
 * `--require .pnp.cjs --loader .pnp.loader.mjs`, a bundle served by an
 * `--import` hook), so loaders are kept; a loader that cannot run in a worker
 * makes the start fail, which the pool reports and survives (hashing on the
 * main thread). Warning switches are kept so a kept experimental loader does
 * not print its warning once per worker.
 */

export interface WorkerFlags {
  /** Passed as the worker's `execArgv`. */
  execArgv: string[];
  /** The worker's `NODE_OPTIONS` (undefined: unset). */
  nodeOptions: string | undefined;
}

/** Kept flags that take a value, as `--flag=value` or `--flag value`. */
const KEPT_WITH_VALUE = new Set(['--import', '--require', '-r', '--loader', '--experimental-loader', '--conditions', '-C']);
/** Kept flags without a value. */
const KEPT_BARE = new Set(['--no-warnings', '--no-deprecation']);

/**
 * The kept subset of `args`. A flag outside the list is skipped on its own: Node flags that take a
 * separate value (`-e <code>`) leave that value behind as a non-flag word, which is skipped too.
 */
export function keptWorkerFlags(args: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (KEPT_BARE.has(arg)) kept.push(arg);
    else if (KEPT_WITH_VALUE.has(name) && eq > 0) kept.push(arg);
    else if (KEPT_WITH_VALUE.has(name) && i + 1 < args.length) kept.push(arg, args[++i]!);
    else if (arg === '-e' || arg === '--eval' || arg === '-p' || arg === '--print') i++; // its code could look like a flag
  }
  return kept;
}

/** Splits NODE_OPTIONS as Node does: on spaces, with double quotes grouping and `\` escaping inside them. */
export function splitNodeOptions(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quoted) {
      if (c === '\\' && i + 1 < s.length) cur += s[++i];
      else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') {
      quoted = inWord = true;
    } else if (c === ' ' || c === '\t' || c === '\n') {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) out.push(cur);
  return out;
}

function joinNodeOptions(words: readonly string[]): string {
  return words.map((w) => (/^[^\s"\\]+$/.test(w) ? w : `"${w.replace(/["\\]/g, (c) => `\\${c}`)}"`)).join(' ');
}

/** The flags for a worker started by this process. */
export function workerFlags(execArgv: readonly string[] = process.execArgv, nodeOptions: string | undefined = process.env['NODE_OPTIONS']): WorkerFlags {
  return {
    execArgv: keptWorkerFlags(execArgv),
    nodeOptions: nodeOptions === undefined ? undefined : joinNodeOptions(keptWorkerFlags(splitNodeOptions(nodeOptions))),
  };
}

/** For error messages: the flags a worker was started with. */
export function describeWorkerFlags(flags: WorkerFlags): string {
  const env = flags.nodeOptions === undefined ? 'NODE_OPTIONS unset' : `NODE_OPTIONS=${JSON.stringify(flags.nodeOptions)}`;
  return `execArgv ${JSON.stringify(flags.execArgv)}, ${env}`;
}

/**
 * How to start a child Node process of our own (campaign children, the demo's training worker):
 * the same kept flags first on its command line, and the environment with `NODE_OPTIONS` filtered
 * the same way, so the host's own flags (`--input-type`, `-e`, …) never break it.
 */
export function childNodeLaunch(script: string, args: readonly string[]): { argv: string[]; env: NodeJS.ProcessEnv } {
  const flags = workerFlags();
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (flags.nodeOptions === undefined) delete env['NODE_OPTIONS'];
  else env['NODE_OPTIONS'] = flags.nodeOptions;
  return { argv: [...flags.execArgv, script, ...args], env };
}
