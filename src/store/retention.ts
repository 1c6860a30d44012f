/**
 * Which checkpoints `gc` may delete. A pure function of the committed steps
 * and the newest step that passes verification, so the rule is testable on
 * its own: keep the newest `keepLast`, and never the newest valid one, even
 * when newer (corrupt) checkpoints push it out of the window.
 */
export function stepsToDelete(committedSteps: readonly number[], keepLast: number, newestValidStep: number | null): number[] {
  const sorted = [...committedSteps].sort((a, b) => a - b);
  const keep = new Set(sorted.slice(Math.max(0, sorted.length - keepLast)));
  if (newestValidStep !== null) keep.add(newestValidStep);
  return sorted.filter((s) => !keep.has(s));
}
