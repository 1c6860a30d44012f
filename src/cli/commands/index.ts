/**
 * The command registry: every `holdfast <command>`, in the order `--help`
 * lists them. Adding a command is one import and one entry here.
 */
import type { Command } from '../command.js';
import { benchCommand } from './bench.js';
import { commitCommand } from './commit.js';
import { gcCommand } from './gc.js';
import { inspectCommand } from './inspect.js';
import { intervalCommand } from './interval.js';
import { latestCommand } from './latest.js';
import { lsCommand } from './ls.js';
import { replicateCommand } from './replicate.js';
import { restoreCommand } from './restore.js';
import { syncCommand } from './sync.js';
import { tagCommand, untagCommand } from './tag.js';
import { tortureCommand } from './torture.js';
import { verifyCommand } from './verify.js';

export const COMMANDS: readonly Command[] = [
  commitCommand,
  lsCommand,
  verifyCommand,
  latestCommand,
  restoreCommand,
  inspectCommand,
  gcCommand,
  intervalCommand,
  syncCommand,
  replicateCommand,
  tagCommand,
  untagCommand,
  benchCommand,
  tortureCommand,
];

export function findCommand(name: string): Command | undefined {
  return COMMANDS.find((c) => c.name === name);
}
