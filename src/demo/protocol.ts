/**
 * What a training worker tells its supervisor: one JSON object per stdout
 * line. Stdout (not a file) because the supervisor must see each step the
 * instant it happens, to kill the worker right there, and because file I/O
 * in Holdfast goes through the store's `FileSystem` only.
 */
import type { ConfigCheck } from '../train/train-state.js';
import type { ResumeCheck } from '../train/post-resume-check.js';

export type WorkerEvent =
  | { ev: 'start'; pid: number; model: string; configHash: string; steps: number; interval: number }
  | { ev: 'resume'; fromStep: number | null; skipped: { step: number; reason: string }[]; check: ResumeCheck | null; config: ConfigCheck | null }
  | { ev: 'step'; step: number; loss: number; lr: number; lossScale: number }
  /** `pauseMs`: what the step loop lost to this checkpoint (state capture + waiting for the previous commit + copy). */
  | { ev: 'save-begin'; step: number; pauseMs: number; copyMs: number; bytes: number }
  | { ev: 'saved'; step: number; bytes: number; elapsedMs: number }
  | { ev: 'stalled'; step: number; op: string; path: string }
  | { ev: 'done'; step: number; weightsSha256: string; stateSha256: string };

const PREFIX = '@hf ';

export function formatEvent(e: WorkerEvent): string {
  return PREFIX + JSON.stringify(e) + '\n';
}

/** The event on a stdout line, or null for any other output (library chatter). */
export function parseEvent(line: string): WorkerEvent | null {
  if (!line.startsWith(PREFIX)) return null;
  try {
    return JSON.parse(line.slice(PREFIX.length)) as WorkerEvent;
  } catch {
    return null;
  }
}
