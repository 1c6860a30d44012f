/**
 * Argument parsing for every command: `node:util` parseArgs in strict mode,
 * with each parse error turned into one readable `HF_INVALID_ARG` line
 * (exit 2). Numbers (`--step`, `--keep-last`) are checked here, at the edge,
 * so commands only ever see safe integers.
 */
import { parseArgs } from 'node:util';
import { invalidArg } from '../errors.js';
import { parseInteger } from '../format/parse-integer.js';

export { parseInteger };

type OptionSpecs = Record<string, { type: 'string' | 'boolean'; short?: string }>;

interface PositionalSpec {
  /** Names of required positionals, in order (used in error messages). */
  required: string[];
  /** Name of a trailing list of one or more positionals (e.g. `file`), if any. */
  variadic?: string;
}

class CommandArgs {
  constructor(
    private readonly command: string,
    private readonly values: Record<string, string | boolean | undefined>,
    /** Positionals in order; `required` ones first, then the variadic rest. */
    readonly positionals: string[],
  ) {}

  flag(name: string): boolean {
    return this.values[name] === true;
  }

  string(name: string): string | undefined {
    const v = this.values[name];
    return typeof v === 'string' ? v : undefined;
  }

  requiredString(name: string): string {
    const v = this.string(name);
    if (v === undefined) throw invalidArg(`missing required option --${name} (see 'holdfast ${this.command} --help')`);
    if (v.length === 0) throw invalidArg(`--${name} must not be empty`);
    return v;
  }

  /** A non-negative safe integer option (`--step`), or undefined when absent. */
  integer(name: string, min = 0): number | undefined {
    const v = this.string(name);
    return v === undefined ? undefined : parseInteger(`--${name}`, v, min);
  }

  requiredInteger(name: string, min = 0): number {
    const v = this.string(name);
    if (v === undefined) throw invalidArg(`missing required option --${name} (see 'holdfast ${this.command} --help')`);
    return parseInteger(`--${name}`, v, min);
  }
}

export function parseCommandArgs(command: string, argv: string[], options: OptionSpecs, positional: PositionalSpec): CommandArgs {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: attachNegativeNumbers(argv, options), options, strict: true, allowPositionals: true, tokens: true });
  } catch (e) {
    throw invalidArg(describeParseError(command, e));
  }
  const seen = new Set<string>();
  for (const t of parsed.tokens ?? []) {
    if (t.kind !== 'option') continue;
    if (seen.has(t.name)) throw invalidArg(`option --${t.name} is given more than once`);
    seen.add(t.name);
  }
  const pos = parsed.positionals;
  const { required, variadic } = positional;
  if (pos.length < required.length) {
    throw invalidArg(`missing <${required[pos.length]}> argument (see 'holdfast ${command} --help')`);
  }
  if (variadic !== undefined && pos.length === required.length) {
    throw invalidArg(`missing <${variadic}> argument: give at least one (see 'holdfast ${command} --help')`);
  }
  if (variadic === undefined && pos.length > required.length) {
    throw invalidArg(`unexpected argument ${JSON.stringify(pos[required.length])} (see 'holdfast ${command} --help')`);
  }
  for (const [i, p] of pos.entries()) {
    if (p.length === 0) throw invalidArg(`<${required[i] ?? variadic}> must not be empty`);
  }
  return new CommandArgs(command, parsed.values as Record<string, string | boolean | undefined>, pos);
}

/**
 * parseArgs refuses `--step -1` as "ambiguous"; rewriting it to `--step=-1`
 * lets the integer check say what is actually wrong with the value.
 */
function attachNegativeNumbers(argv: string[], options: OptionSpecs): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') return out.concat(argv.slice(i));
    const next = argv[i + 1];
    const name = a.startsWith('--') ? a.slice(2) : undefined;
    if (name !== undefined && options[name]?.type === 'string' && next !== undefined && /^-[0-9.]/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else {
      out.push(a);
    }
  }
  return out;
}

function describeParseError(command: string, e: unknown): string {
  const err = e as { code?: string; message?: string };
  const message = String(err.message ?? e);
  const seeHelp = `(see 'holdfast ${command} --help')`;
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const name = /'([^']+)'/.exec(message)?.[1] ?? message;
    return `unknown option ${name} ${seeHelp}`;
  }
  const ambiguous = /^Option '([^']+)' argument is ambiguous/.exec(message);
  if (ambiguous) return `option ${ambiguous[1]} needs a value; to pass one starting with '-', write ${ambiguous[1]}=<value>`;
  const missing = /^Option '([^' ]+)[^']*' argument missing/.exec(message);
  if (missing) return `option ${missing[1]} needs a value ${seeHelp}`;
  const noArg = /^Option '([^']+)' does not take an argument/.exec(message);
  if (noArg) return `option ${noArg[1]} does not take a value`;
  return message.replace(/\s+/g, ' ').trim();
}
