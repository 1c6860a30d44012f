/**
 * Makes the model a `CharLmConfig` names. TensorFlow.js is imported only
 * when the tfjs model is asked for, so the framework-free loop never pays
 * for loading it (about 0.3 s) and never depends on it.
 */
import type { CharLmConfig, CharLmModel } from './char-lm-model.js';
import { PlainCharModel } from './plain-char-model.js';

export async function createCharLmModel(config: CharLmConfig): Promise<CharLmModel> {
  if (config.model === 'plain') return new PlainCharModel(config);
  const { TfjsCharModel } = await import('./tfjs-char-model.js');
  return TfjsCharModel.create(config);
}
