/**
 * Formatting shared by the commands: human byte sizes, aligned tables, the
 * `--help` layout and JSON output. Pure functions of their input; writing is
 * left to the caller's `CliIo`, so tests can capture every line.
 */
import type { CliIo } from './command.js';

const UNITS = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** `512 B`, `1.5 KiB`, `3.0 GiB`: binary units, one decimal above bytes. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  let value = bytes;
  let unit = -1;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${UNITS[unit]}`;
}

/** Left-aligned text columns, right-aligned numeric ones (`rightAlign[i]`), two spaces apart. */
export function formatTable(header: string[], rows: string[][], rightAlign: boolean[] = []): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (rightAlign[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

interface HelpSpec {
  usage: string;
  description: string;
  options: [flag: string, text: string][];
  exitCodes: [code: number, text: string][];
}

/** The one layout of every command's `--help`. */
export function formatHelp(spec: HelpSpec): string {
  const flagWidth = Math.max(...spec.options.map(([f]) => f.length));
  return [
    `Usage: ${spec.usage}`,
    '',
    spec.description,
    '',
    'Options:',
    ...spec.options.map(([f, t]) => `  ${f.padEnd(flagWidth)}  ${t}`),
    '',
    'Exit codes:',
    ...spec.exitCodes.map(([c, t]) => `  ${c}  ${t}`),
  ].join('\n');
}

/** Options every command accepts, listed last in its help. */
export const HELP_OPTION: [string, string] = ['-h, --help', 'show this help'];
export const JSON_OPTION: [string, string] = [
  '--json',
  'print JSON on stdout, errors too: {"error": {code, message, path}, "exitCode": n}',
];

// C0 controls (newline, carriage return, escape …), DEL, C1 controls, and the Unicode line and
// paragraph separators some terminals break lines at.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
const SHORT_ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * `s` on one line, safe for a terminal: control characters (a newline in a path, an escape
 * sequence in a file name) are written as `\n`, `\r`, `\t` or `\u001b`. An error is always one
 * line of stderr, and a hostile name cannot rewrite what the terminal shows.
 */
export function escapeControl(s: string): string {
  return s.replace(CONTROL, (c) => SHORT_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function printJson(io: CliIo, value: unknown): void {
  io.stdout(JSON.stringify(value, null, 2));
}
