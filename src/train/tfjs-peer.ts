/**
 * `@tensorflow/tfjs` is an optional peer dependency: `npm i holdfast` does not
 * pull it, so `holdfast` and `holdfast/train` never import it, and
 * `holdfast/tfjs` checks for it first. Without this check a missing tfjs
 * would surface as Node's bare ERR_MODULE_NOT_FOUND from some file deep in
 * dist/; with it the caller is told what to install.
 */
import { fileURLToPath } from 'node:url';
import { HoldfastError } from '../errors.js';

/** The one command that installs the tfjs this integration is built and tested against. */
export const TFJS_INSTALL_COMMAND = 'npm i @tensorflow/tfjs@4';

/**
 * Resolves once `@tensorflow/tfjs` can be imported; throws HF_INCOMPATIBLE
 * with the install command when it cannot be found. Any other failure while
 * loading it is rethrown as is. `importer` is injectable for tests.
 */
export async function requireTfjs(importer: () => Promise<unknown> = () => import('@tensorflow/tfjs')): Promise<void> {
  try {
    await importer();
  } catch (e) {
    if (!isMissingTfjs(e)) throw e;
    throw new HoldfastError(
      'HF_INCOMPATIBLE',
      `holdfast/tfjs needs its optional peer dependency @tensorflow/tfjs, which was not found ` +
        `from ${fileURLToPath(new URL('.', import.meta.url))}; install it with: ${TFJS_INSTALL_COMMAND}`,
      { cause: e },
    );
  }
}

function isMissingTfjs(e: unknown): boolean {
  const err = e as { code?: unknown; message?: unknown };
  return err?.code === 'ERR_MODULE_NOT_FOUND' && typeof err.message === 'string' && err.message.includes("'@tensorflow/tfjs'");
}
