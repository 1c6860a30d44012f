/**
 * One CLI command. `main.ts` finds commands in `commands/index.ts`, prints
 * their `help` for `--help`, and maps thrown errors to exit codes
 * (`exitCodeFor`): 0 ok, 1 failure, 2 usage, 3 nothing valid found.
 */
export interface CliIo {
  stdout: (line: string) => void;
  stderr: (line: string) => void;
  /**
   * Transient progress text (overwritten in place). Present only when stderr
   * is a terminal, so logs and pipes never see it.
   */
  progress?: (text: string) => void;
}

export interface Command {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** Full `--help` text: usage line, what it does, every flag, exit codes. */
  help: string;
  /** Returns the exit code. Throw `HoldfastError` for failures; `HF_INVALID_ARG` means usage error (exit 2). */
  run(argv: string[], io: CliIo): Promise<number>;
}
