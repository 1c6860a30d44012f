/** What the benchmark ran on, for the report: cores, memory, CPU, kernel, and the directory's device and file system. */
import { execFile } from 'node:child_process';
import { availableParallelism, cpus, release, totalmem } from 'node:os';

export interface MachineInfo {
  cores: number;
  memoryBytes: number;
  cpu: string;
  kernel: string;
  node: string;
  /** `findmnt -T <dir>`: device, file system type and mount options of the benchmark directory. */
  mount: string;
  fio: string;
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve) => execFile(cmd, args, (err, stdout) => resolve(err ? '' : stdout.trim())));
}

export async function describeMachine(dir: string): Promise<MachineInfo> {
  const mount = await run('findmnt', ['-no', 'SOURCE,FSTYPE,OPTIONS', '-T', dir]);
  const fio = await run('fio', ['--version']);
  return {
    cores: availableParallelism(),
    memoryBytes: totalmem(),
    cpu: cpus()[0]?.model ?? 'unknown',
    kernel: release(),
    node: process.version,
    mount: mount || 'unknown',
    fio: fio || 'not installed',
  };
}
